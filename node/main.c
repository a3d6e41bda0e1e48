/* DESIGN: fsynclab-node takes no arguments and serves the protocol on
 * stdin/stdout until end of input (node_serve_stdio says how it ends). */
#include "node/node.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: fsynclab-node   (takes no arguments; speaks JSON lines on stdin/stdout)\n");
        return 2;
    }
    return node_serve_stdio("fsynclab-node");
}
