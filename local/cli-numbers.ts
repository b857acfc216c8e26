import { InvalidArgumentError } from 'commander';

/** A commander argument parser for a whole number of at least `min` (1 by default). */
export function wholeNumber(min = 1): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(
        min === 1 ? 'expected a positive integer' : `expected a whole number ≥ ${min}`,
      );
    }
    return n;
  };
}

/** A positive integer (the project's CLIs: --users, --seed, …). */
export const positiveInt = wholeNumber(1);
