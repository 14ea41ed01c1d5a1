/**
 * The product's names and version, in a module that imports nothing of the analyser: the CLI's
 * top-level help and version answer from here without loading it (issue #17, start-up).
 */
import { version as packageVersion } from '../../../../package.json';

export const PRODUCT_NAME = 'Hazard Lens';
export const PRODUCT_COMMAND = 'hazard-lens';
export const PRODUCT_VERSION: string = packageVersion;
export const PRODUCT_URI = 'https://github.com/hazard-lens/hazard-lens';
