/** Ferry's version (equal to package.json's; a unit test checks it). */
export const FERRY_VERSION = '0.1.0';
