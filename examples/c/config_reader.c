/* Reads "key=value" lines; the first version leaks the FILE on its error path. */
#include <stdio.h>
#include <string.h>

int read_port(const char *path, int *port)
{
    char line[256];
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof line, fp) != NULL) {
        if (strncmp(line, "port=", 5) != 0)
            continue;
        if (sscanf(line + 5, "%d", port) != 1)
            goto bad_value;
        fclose(fp);
        return 0;
    }
    fclose(fp);
    return -1;
bad_value:
    fprintf(stderr, "%s: bad port value\n", path);
    return -2;
}

int read_port_fixed(const char *path, int *port)
{
    char line[256];
    int rc = -1;
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof line, fp) != NULL) {
        if (strncmp(line, "port=", 5) != 0)
            continue;
        rc = sscanf(line + 5, "%d", port) == 1 ? 0 : -2;
        break;
    }
    fclose(fp);
    return rc;
}
