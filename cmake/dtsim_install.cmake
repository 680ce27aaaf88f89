include(CMakePackageConfigHelpers)
install(TARGETS dtsim_core dtsim_models dtsim_hardware dtsim_sim dtsim_scenarios dtsim_all
        EXPORT dtsimTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT dtsimTargets NAMESPACE dtsim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dtsim)
configure_package_config_file(cmake/dtsimConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/dtsimConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dtsim)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/dtsimConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/dtsimConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/dtsimConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dtsim)
