#include "dtsim/sim/simulation.hpp"
