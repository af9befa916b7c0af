/**
 * A lookup run once per process and shared by parallel callers (one install or build, not one
 * each). A failure is not remembered: the user may fix PATH, a variable or the network and ask again.
 */
export function sharedLookup<T, A extends unknown[]>(locate: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  let found: Promise<T> | undefined;
  return (...args: A) => {
    found ??= locate(...args);
    return found.catch((err) => {
      found = undefined;
      throw err;
    });
  };
}
