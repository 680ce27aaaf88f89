# Warnings are errors for every dtsim target (not for consumers of installed headers).
function(dtsim_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
  if(DTSIM_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# Adds a dtsim library: name is the short name (core, models, ...).
function(dtsim_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(dtsim_${name} ${ARG_SOURCES})
  add_library(dtsim::${name} ALIAS dtsim_${name})
  set_target_properties(dtsim_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME dtsim_${name})
  target_include_directories(dtsim_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(dtsim_${name} PUBLIC cxx_std_20)
  dtsim_set_warnings(dtsim_${name})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
