# ms_module(NAME [RECURSE] [EXCLUDE file...] PUBLIC_LIBS lib...)
# Builds src/NAME/*.cc into the static library ms_NAME. Sources are globbed so that adding a
# file to a module needs no edit here.
function(ms_module name)
  cmake_parse_arguments(M "RECURSE" "" "EXCLUDE;PUBLIC_LIBS" ${ARGN})
  if(M_RECURSE)
    file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cc)
  else()
    file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cc)
  endif()
  foreach(ex IN LISTS M_EXCLUDE)
    list(FILTER srcs EXCLUDE REGEX "/src/${name}/${ex}$")
  endforeach()
  if(NOT srcs)
    return()  # a module with no sources yet
  endif()
  add_library(ms_${name} STATIC ${srcs})
  target_include_directories(ms_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ms_${name} PUBLIC ${M_PUBLIC_LIBS})
endfunction()

# ms_test_suite(NAME DIR LIBS...): one gtest binary per test folder, tests discovered for ctest.
function(ms_test_suite name dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/*_test.cc)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  target_link_libraries(${name} PRIVATE ${ARGN} GTest::gtest GTest::gtest_main GTest::gmock)
  # Tests find the repository's files (docs, tools) through this, not through __FILE__.
  target_compile_definitions(${name} PRIVATE MONGOSHIFT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
