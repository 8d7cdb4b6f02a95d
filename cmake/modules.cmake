# keel_add_module(<name> SOURCES a.c b.c …)
# Called from src/modules/<name>/CMakeLists.txt.  Embeds schema/*.json and
# migrations/*.sql into <name>_embedded.c, builds an object library, and
# registers every tests/test_*.c next to the module as a cmocka unit test.
function(keel_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES" ${ARGN})
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
