// mongoshift: the migration tool's command line (see app/cli.h).
#include <unistd.h>

#include <iostream>

#include "app/cli.h"

int main(int argc, char** argv) { return app::run_cli(argc, argv, std::cout, std::cerr, isatty(STDOUT_FILENO) == 1); }
