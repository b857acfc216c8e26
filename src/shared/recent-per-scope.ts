/**
 * What a process remembers per scope (a storage account: `TableGateway.scope`), by key, keeping the
 * latest `limit` keys of each scope: the oldest set is forgotten first. A scope nobody holds any more
 * is forgotten with it.
 */
export class RecentPerScope<V> {
  readonly #byScope = new WeakMap<object, Map<string, V>>();

  constructor(private readonly limit: number) {}

  get(scope: object, key: string): V | undefined {
    return this.#byScope.get(scope)?.get(key);
  }

  set(scope: object, key: string, value: V): void {
    let known = this.#byScope.get(scope);
    if (!known) this.#byScope.set(scope, (known = new Map<string, V>()));
    known.set(key, value);
    if (known.size > this.limit) known.delete(known.keys().next().value!);
  }

  delete(scope: object, key: string): void {
    this.#byScope.get(scope)?.delete(key);
  }
}
