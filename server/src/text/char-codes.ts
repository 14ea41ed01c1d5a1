/**
 * Character classes of regular expressions, for one UTF-16 code unit: the text scanners that
 * step over a file by hand (instead of running a pattern from every offset) test characters
 * exactly as the patterns they replace would.
 */

/** `\w` of a regular expression without the `u` flag: an ASCII letter, digit or `_` (NaN, past a text's end, is not). */
export function isWordCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** `\s` of a regular expression (Unicode white space and line terminators included). */
export function isSpaceCode(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}
