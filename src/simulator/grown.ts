type GrowableArray = Int32Array | Uint8Array | Float64Array;

/** A copy of `array` with room for `capacity` elements: the simulator's arrays double as a run grows. */
export function grown<T extends GrowableArray>(array: T, capacity: number): T {
  const next = new (array.constructor as new (n: number) => T)(capacity);
  next.set(array);
  return next;
}
