/*
 * Prints the version of the linked fstore library and, given a directory,
 * creates a store there and closes it again (which pulls the storage engine
 * into a static link).
 */
#include <fstore/fstore.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("%s\n", fstore_version_str());
    if (argc > 1) {
        char errstr[256] = "";
        fstore_store_t *store = NULL;
        fstore_err_t err =
            fstore_store_open(argv[1], NULL, &store, errstr, sizeof errstr);
        if (err != FSTORE_OK) {
            fprintf(stderr, "fstore_store_open(%s): %s: %s\n", argv[1],
                    fstore_err_name(err), errstr);
            return 1;
        }
        fstore_store_close(store);
    }
    return 0;
}
