/*
 * main.c — keel is one binary; the CLI decides what it does.
 */
#include "api/cli-internal.h"

int main(int argc, char **argv)
{
    return keel_cli_main(argc, argv);
}
