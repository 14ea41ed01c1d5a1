/**
 * Test data shared by the CLI and language-server tests of sources that are not UTF-8: a C
 * file of an old tree in Latin-1/Windows-1252, with an accented name in the comment before a
 * leak (fopen on line 4, column 16) and a second leak (fopen on line 10) on a line whose
 * comment holds accented letters before it, so columns show the text was decoded.
 */
export const LATIN1_C = Buffer.from(
  '#include <stdio.h>\n' +
    '/* Auteur : Jos\xe9 M\xfcller */\n' +
    'int f(const char *p) {\n' +
    '    FILE *fp = fopen(p, "r");\n' +
    '    if (!fp) return -1;\n' +
    '    if (p[0] == 0) return -2;\n' +
    '    fclose(fp);\n' +
    '    return 0;\n' +
    '}\n' +
    '/* \xe9t\xe9 */ int g(const char *p) { FILE *q = fopen(p, "r"); if (!q) return -1; if (p[0]) return 1; fclose(q); return 0; }\n',
  'latin1',
);
