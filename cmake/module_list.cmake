# module_list.cmake — one source of truth for the module list, no silent drift.
#
# KEEL_SOURCE_MODULES: src/modules/modules.txt.  KEEL_MODULES: the build's list
# (cache).  KEEL__MODULES_SEEN (internal cache) remembers the source list at
# the previous configure of this folder:
#   - KEEL_MODULES equal to what the source said last time (never chosen by
#     hand) and the source changed: follow the source, and say so;
#   - KEEL_MODULES chosen by hand (-DKEEL_MODULES=…) and different from the
#     source: keep it, and say exactly what is built and what is not.
if(DEFINED KEEL__MODULES_SEEN AND NOT "${KEEL__MODULES_SEEN}" STREQUAL "${KEEL_SOURCE_MODULES}"
   AND "${KEEL_MODULES}" STREQUAL "${KEEL__MODULES_SEEN}")
  message(STATUS "keel: src/modules/modules.txt changed (${KEEL__MODULES_SEEN} -> "
                 "${KEEL_SOURCE_MODULES}); this build folder follows it")
  set(KEEL_MODULES "${KEEL_SOURCE_MODULES}" CACHE STRING
      "modules built into the binary, in registry order (default: src/modules/modules.txt)" FORCE)
endif()
set(KEEL__MODULES_SEEN "${KEEL_SOURCE_MODULES}" CACHE INTERNAL "source module list at the last configure")

if(NOT "${KEEL_MODULES}" STREQUAL "${KEEL_SOURCE_MODULES}")
  set(_missing "")
  set(_extra "")
  foreach(_m ${KEEL_SOURCE_MODULES})
    if(NOT _m IN_LIST KEEL_MODULES)
      list(APPEND _missing ${_m})
    endif()
  endforeach()
  foreach(_m ${KEEL_MODULES})
    if(NOT _m IN_LIST KEEL_SOURCE_MODULES)
      list(APPEND _extra ${_m})
    endif()
  endforeach()
  string(REPLACE ";" ", " _missing "${_missing}")
  string(REPLACE ";" ", " _extra "${_extra}")
  set(_why "")
  if(_missing)
    string(APPEND _why " Not built: ${_missing} (their tests are not registered).")
  endif()
  if(_extra)
    string(APPEND _why " Built but not in src/modules/modules.txt: ${_extra}.")
  endif()
  if(NOT _missing AND NOT _extra)
    string(APPEND _why " Same modules, another registry order.")
  endif()
  message(WARNING "keel: this build folder's KEEL_MODULES=\"${KEEL_MODULES}\" differs from "
                  "src/modules/modules.txt (\"${KEEL_SOURCE_MODULES}\").${_why} "
                  "To follow the source list: cmake -U KEEL_MODULES ${CMAKE_BINARY_DIR}")
endif()
