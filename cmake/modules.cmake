# keel_add_module(<name> SOURCES a.c b.c … [DEPS other …])
# Called from src/modules/<name>/CMakeLists.txt.  Embeds schema/*.json and
# migrations/*.sql into <name>_embedded.c, builds an object library, and
# registers every tests/test_*.c next to the module as a cmocka unit test.
# DEPS repeats the descriptor's deps (test_registry holds them equal) so that
# configure can refuse a KEEL_MODULES list that lacks one.
function(keel_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  set_property(GLOBAL PROPERTY KEEL_MODULE_DEPS_${name} "${M_DEPS}")
  set(dir "${CMAKE_CURRENT_SOURCE_DIR}")
  set(gen "${CMAKE_BINARY_DIR}/gen/${name}")
  file(GLOB contract CONFIGURE_DEPENDS "${dir}/schema/*.json" "${dir}/migrations/*.sql")
  add_custom_command(
    OUTPUT "${gen}/${name}_embedded.c" "${gen}/${name}_embedded.h"
    COMMAND ${CMAKE_COMMAND} -DMOD=${name} -DSRC=${dir}
            -DOUT_C=${gen}/${name}_embedded.c -DOUT_H=${gen}/${name}_embedded.h
            -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${contract} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "embedding ${name} schemas and migrations")
  add_library(keel_mod_${name} OBJECT ${M_SOURCES} "${gen}/${name}_embedded.c")
  target_include_directories(keel_mod_${name} PUBLIC "${gen}" "${dir}" "${PROJECT_SOURCE_DIR}/src/modules")
  target_link_libraries(keel_mod_${name} PUBLIC keel_deps)
  set_property(GLOBAL APPEND PROPERTY KEEL_MODULE_OBJECTS $<TARGET_OBJECTS:keel_mod_${name}>)
  set_property(GLOBAL APPEND PROPERTY KEEL_MODULE_TARGETS keel_mod_${name})
  file(GLOB tests CONFIGURE_DEPENDS "${dir}/tests/test_*.c")
  set_property(GLOBAL APPEND PROPERTY KEEL_MODULE_TESTS ${tests})
endfunction()

# After every module's add_subdirectory: each declared DEPS entry must be built.
function(keel_check_module_deps)
  foreach(m ${KEEL_MODULES})
    get_property(deps GLOBAL PROPERTY KEEL_MODULE_DEPS_${m})
    foreach(d ${deps})
      if(NOT d IN_LIST KEEL_MODULES)
        message(FATAL_ERROR
          "KEEL_MODULES=\"${KEEL_MODULES}\": module '${m}' needs module '${d}' "
          "(DEPS in src/modules/${m}/CMakeLists.txt), which the list does not build. "
          "Add '${d}' to KEEL_MODULES, or leave '${m}' out.")
      endif()
    endforeach()
  endforeach()
endfunction()
