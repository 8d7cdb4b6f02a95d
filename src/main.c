/*
 * main.c — keel is one binary; the CLI decides what it does.
 */
#include "api/cli-internal.h"
#include "api/evmem-internal.h"

int main(int argc, char **argv)
{
    keel__evmem_install();   /* before any libevent object exists */
    keel__evlog_install();
    return keel_cli_main(argc, argv);
}
