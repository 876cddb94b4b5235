/**
 * The whitelisted object model rules run against: strings, numbers, booleans, null, Java-like
 * maps, sets, lists and Optionals, and host objects (request, trinoQueryProperties,
 * trinoRequestUser) whose methods sit in explicit tables. Methods are dispatched by `switch` or by
 * `Map` lookup, never by indexing a JavaScript object with a rule-supplied name, so `constructor`,
 * `__proto__` and globals are unreachable by construction.
 */

export type Primitive = string | number | boolean | null

export type Value = Primitive | JavaMap | JavaSet | JavaList | JavaOptional | HostObject

/** Thrown by model methods; the interpreter adds the position. */
export class ModelError extends Error {}

export class JavaMap {
  readonly entries = new Map<Primitive, Value>()
}

export class JavaSet {
  readonly items = new Set<Value>()
  constructor(items: Iterable<Value> = []) {
    for (const item of items) this.items.add(item)
  }
}

export class JavaList {
  readonly items: Value[] = []
}

export class JavaOptional {
  static readonly emptyOptional = new JavaOptional(null)
  private constructor(readonly value: Value) {}
  static of(value: Value): JavaOptional {
    if (value === null) throw new ModelError('Optional.of(null): NullPointerException')
    return new JavaOptional(value)
  }
  static ofNullable(value: Value | undefined): JavaOptional {
    return value === null || value === undefined ? JavaOptional.emptyOptional : new JavaOptional(value)
  }
  get present(): boolean {
    return this.value !== null
  }
}

export interface HostMethod {
  /** Number of arguments the method takes. */
  arity: number
  /** `self` is the host object called, so one method table can serve every request. */
  call(args: readonly Value[], self: HostObject): Value
}

/** An object the gateway exposes to rules: a name and a fixed table of methods. */
export class HostObject {
  constructor(
    readonly kind: string,
    readonly methods: ReadonlyMap<string, HostMethod>,
  ) {}
}

/** Every member name any model value answers to; the parser refuses every other name at load. */
export const modelMemberNames: ReadonlySet<string> = new Set([
  // java.lang.String
  'equals',
  'equalsIgnoreCase',
  'contains',
  'startsWith',
  'endsWith',
  'isEmpty',
  'empty',
  'isBlank',
  'blank',
  'toLowerCase',
  'toUpperCase',
  'trim',
  'strip',
  'length',
  'matches',
  'indexOf',
  'substring',
  'replace',
  'split',
  'toString',
  // java.util.Map, Set, List
  'get',
  'put',
  'containsKey',
  'getOrDefault',
  'remove',
  'size',
  'add',
  // java.util.Optional
  'isPresent',
  'present',
  'orElse',
])

/** Patterns of `String.matches` compiled once; bounded so a hostile rule set cannot grow it forever. */
const regexCacheEntriesMax = 1000
const regexCache = new Map<string, RegExp>()

function compileRegex(pattern: string, fullMatch: boolean): RegExp {
  const key = `${fullMatch ? 'F' : 'P'}${pattern}`
  let regex = regexCache.get(key)
  if (regex === undefined) {
    try {
      regex = new RegExp(fullMatch ? `^(?:${pattern})$` : pattern, 'u')
    } catch {
      throw new ModelError(`invalid regular expression ${JSON.stringify(pattern)}`)
    }
    if (regexCache.size >= regexCacheEntriesMax) regexCache.clear()
    regexCache.set(key, regex)
  }
  return regex
}

export function typeName(value: Value): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return 'String'
  if (typeof value === 'number') return 'Number'
  if (typeof value === 'boolean') return 'Boolean'
  if (value instanceof JavaMap) return 'HashMap'
  if (value instanceof JavaSet) return 'HashSet'
  if (value instanceof JavaList) return 'ArrayList'
  if (value instanceof JavaOptional) return 'Optional'
  return value.kind
}

/** Java `equals` as MVEL's `==` applies it: value equality for strings, numbers and collections. */
export function valuesEqual(left: Value, right: Value): boolean {
  if (left === right) return true
  if (left === null || right === null) return false
  if (left instanceof JavaOptional && right instanceof JavaOptional) {
    return left.present === right.present && valuesEqual(left.value, right.value)
  }
  if (left instanceof JavaSet && right instanceof JavaSet) {
    if (left.items.size !== right.items.size) return false
    for (const item of left.items) if (!collectionHas(right, item)) return false
    return true
  }
  if (left instanceof JavaList && right instanceof JavaList) {
    return (
      left.items.length === right.items.length &&
      left.items.every((item, i) => valuesEqual(item, right.items[i] ?? null))
    )
  }
  if (left instanceof JavaMap && right instanceof JavaMap) {
    if (left.entries.size !== right.entries.size) return false
    for (const [key, value] of left.entries) {
      if (!right.entries.has(key) || !valuesEqual(value, right.entries.get(key) ?? null)) return false
    }
    return true
  }
  return false
}

function collectionHas(collection: JavaSet | JavaList, item: Value): boolean {
  if (item === null || typeof item !== 'object') {
    return collection instanceof JavaSet ? collection.items.has(item) : collection.items.includes(item)
  }
  for (const candidate of collection.items) if (valuesEqual(candidate, item)) return true
  return false
}

/** MVEL's `empty` literal. */
export function isEmptyValue(value: Value): boolean {
  if (value === null) return true
  if (typeof value === 'string') return value.length === 0
  if (value instanceof JavaMap) return value.entries.size === 0
  if (value instanceof JavaSet) return value.items.size === 0
  if (value instanceof JavaList) return value.items.length === 0
  if (value instanceof JavaOptional) return !value.present
  return false
}

/** MVEL's null-safe infix `contains`: substring, collection membership or map key; false on null. */
export function infixContains(container: Value, item: Value): boolean {
  if (container === null) return false
  if (typeof container === 'string') return item !== null && container.includes(stringOf(item))
  if (container instanceof JavaSet || container instanceof JavaList) return collectionHas(container, item)
  if (container instanceof JavaMap)
    return mapKey(item) !== undefined && container.entries.has(mapKey(item) as Primitive)
  throw new ModelError(`'contains' cannot look inside a ${typeName(container)}`)
}

export function stringOf(value: Value): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value instanceof JavaOptional)
    return value.present ? `Optional[${stringOf(value.value)}]` : 'Optional.empty'
  if (value instanceof JavaSet || value instanceof JavaList) {
    return `[${Array.from(value.items, (item) => stringOf(item)).join(', ')}]`
  }
  if (value instanceof JavaMap) {
    return `{${Array.from(value.entries, ([k, v]) => `${stringOf(k)}=${stringOf(v)}`).join(', ')}}`
  }
  return value.kind
}

function mapKey(value: Value): Primitive | undefined {
  return value === null || typeof value !== 'object' ? value : undefined
}

function requireMapKey(value: Value): Primitive {
  const key = mapKey(value)
  if (key === undefined)
    throw new ModelError(`a map key must be a string, number or boolean, not a ${typeName(value)}`)
  return key
}

function expectString(value: Value | undefined, method: string): string {
  if (typeof value !== 'string')
    throw new ModelError(`${method} expects a String argument, got ${typeName(value ?? null)}`)
  return value
}

function expectInteger(value: Value | undefined, method: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ModelError(`${method} expects an integer argument, got ${typeName(value ?? null)}`)
  }
  return value
}

function arity(name: string, args: readonly Value[], expected: number): void {
  if (args.length !== expected) {
    throw new ModelError(`${name} takes ${expected} argument${expected === 1 ? '' : 's'}, got ${args.length}`)
  }
}

function capitalize(name: string): string {
  return name.length === 0 ? name : `${(name[0] as string).toUpperCase()}${name.slice(1)}`
}

/**
 * Calls `name` on `target`. `args === null` is MVEL's parenthesis-less form: a no-argument method,
 * a bean getter (`requestURI` → `getRequestURI()`, `present` → `isPresent()`) or, on a map, a key.
 */
export function callMember(target: Value, name: string, args: readonly Value[] | null): Value {
  if (target === null) {
    throw new ModelError(`cannot call ${name} on null (NullPointerException)`)
  }
  if (target instanceof HostObject) return callHost(target, name, args)
  const argv = args ?? []
  if (args === null) {
    // Bean properties of the built-in types are the `is` forms; MVEL resolves them the same way.
    if (name === 'empty') return callMember(target, 'isEmpty', [])
    if (name === 'blank') return callMember(target, 'isBlank', [])
    if (name === 'present') return callMember(target, 'isPresent', [])
    if (target instanceof JavaMap && !isMapMethodWithoutArgs(name)) {
      return target.entries.get(name) ?? null
    }
  }
  if (name === 'equals') {
    arity(name, argv, 1)
    return valuesEqual(target, argv[0] ?? null)
  }
  if (name === 'toString') {
    arity(name, argv, 0)
    return stringOf(target)
  }
  if (typeof target === 'string') return callString(target, name, argv)
  if (target instanceof JavaMap) return callMap(target, name, argv)
  if (target instanceof JavaSet || target instanceof JavaList) return callCollection(target, name, argv)
  if (target instanceof JavaOptional) return callOptional(target, name, argv)
  throw new ModelError(`${typeName(target)} has no method ${name}`)
}

function isMapMethodWithoutArgs(name: string): boolean {
  return name === 'isEmpty' || name === 'size' || name === 'toString'
}

function callHost(target: HostObject, name: string, args: readonly Value[] | null): Value {
  if (args !== null) {
    const method = target.methods.get(name)
    if (method !== undefined && method.arity === args.length) return method.call(args, target)
  }
  const candidates = args === null ? [name, `get${capitalize(name)}`, `is${capitalize(name)}`] : [name]
  for (const candidate of candidates) {
    const method = target.methods.get(candidate)
    if (method === undefined) continue
    const argv = args ?? []
    if (args === null && method.arity !== 0) continue
    arity(candidate, argv, method.arity)
    return method.call(argv, target)
  }
  throw new ModelError(`${target.kind} has no method ${name}${args === null ? '' : `/${args.length}`}`)
}

function callString(target: string, name: string, args: readonly Value[]): Value {
  switch (name) {
    case 'equalsIgnoreCase':
      arity(name, args, 1)
      return typeof args[0] === 'string' && args[0].toLowerCase() === target.toLowerCase()
    case 'contains':
      arity(name, args, 1)
      return target.includes(expectString(args[0], name))
    case 'startsWith':
      arity(name, args, 1)
      return target.startsWith(expectString(args[0], name))
    case 'endsWith':
      arity(name, args, 1)
      return target.endsWith(expectString(args[0], name))
    case 'isEmpty':
      arity(name, args, 0)
      return target.length === 0
    case 'isBlank':
      arity(name, args, 0)
      return target.trim().length === 0
    case 'toLowerCase':
      arity(name, args, 0)
      return target.toLowerCase()
    case 'toUpperCase':
      arity(name, args, 0)
      return target.toUpperCase()
    case 'trim':
    case 'strip':
      arity(name, args, 0)
      return target.trim()
    case 'length':
      arity(name, args, 0)
      return target.length
    case 'matches':
      arity(name, args, 1)
      return compileRegex(expectString(args[0], name), true).test(target)
    case 'indexOf':
      arity(name, args, 1)
      return target.indexOf(expectString(args[0], name))
    case 'substring': {
      if (args.length !== 1 && args.length !== 2) throw new ModelError('substring takes 1 or 2 arguments')
      const begin = expectInteger(args[0], name)
      const end = args.length === 2 ? expectInteger(args[1], name) : target.length
      if (begin < 0 || end > target.length || begin > end) {
        throw new ModelError(`substring(${begin}, ${end}) is out of range for length ${target.length}`)
      }
      return target.slice(begin, end)
    }
    case 'replace':
      arity(name, args, 2)
      return target.split(expectString(args[0], name)).join(expectString(args[1], name))
    case 'split': {
      // Java's split takes a regex and drops trailing empty strings.
      arity(name, args, 1)
      const list = new JavaList()
      const parts = target.split(compileRegex(expectString(args[0], name), false))
      while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
      list.items.push(...parts)
      return list
    }
    default:
      throw new ModelError(`String has no method ${name}/${args.length}`)
  }
}

function callMap(target: JavaMap, name: string, args: readonly Value[]): Value {
  switch (name) {
    case 'get':
      arity(name, args, 1)
      return target.entries.get(requireMapKey(args[0] ?? null)) ?? null
    case 'getOrDefault': {
      arity(name, args, 2)
      const key = requireMapKey(args[0] ?? null)
      return target.entries.has(key) ? (target.entries.get(key) ?? null) : (args[1] ?? null)
    }
    case 'put': {
      arity(name, args, 2)
      const key = requireMapKey(args[0] ?? null)
      const previous = target.entries.get(key) ?? null
      target.entries.set(key, args[1] ?? null)
      return previous
    }
    case 'containsKey':
      arity(name, args, 1)
      return target.entries.has(requireMapKey(args[0] ?? null))
    case 'remove': {
      arity(name, args, 1)
      const key = requireMapKey(args[0] ?? null)
      const previous = target.entries.get(key) ?? null
      target.entries.delete(key)
      return previous
    }
    case 'isEmpty':
      arity(name, args, 0)
      return target.entries.size === 0
    case 'size':
      arity(name, args, 0)
      return target.entries.size
    default:
      throw new ModelError(`HashMap has no method ${name}/${args.length}`)
  }
}

function callCollection(target: JavaSet | JavaList, name: string, args: readonly Value[]): Value {
  switch (name) {
    case 'contains':
      arity(name, args, 1)
      return collectionHas(target, args[0] ?? null)
    case 'add': {
      arity(name, args, 1)
      const item = args[0] ?? null
      if (target instanceof JavaList) {
        target.items.push(item)
        return true
      }
      if (collectionHas(target, item)) return false
      target.items.add(item)
      return true
    }
    case 'remove': {
      arity(name, args, 1)
      const item = args[0] ?? null
      if (target instanceof JavaSet) {
        for (const candidate of target.items) {
          if (valuesEqual(candidate, item)) return target.items.delete(candidate)
        }
        return false
      }
      const index = target.items.findIndex((candidate) => valuesEqual(candidate, item))
      if (index < 0) return false
      target.items.splice(index, 1)
      return true
    }
    case 'get': {
      if (target instanceof JavaSet) throw new ModelError('HashSet has no method get')
      arity(name, args, 1)
      const index = expectInteger(args[0], name)
      if (index < 0 || index >= target.items.length) {
        throw new ModelError(`index ${index} is out of range for size ${target.items.length}`)
      }
      return target.items[index] ?? null
    }
    case 'isEmpty':
      arity(name, args, 0)
      return target instanceof JavaSet ? target.items.size === 0 : target.items.length === 0
    case 'size':
      arity(name, args, 0)
      return target instanceof JavaSet ? target.items.size : target.items.length
    default:
      throw new ModelError(`${typeName(target)} has no method ${name}/${args.length}`)
  }
}

function callOptional(target: JavaOptional, name: string, args: readonly Value[]): Value {
  switch (name) {
    case 'isPresent':
      arity(name, args, 0)
      return target.present
    case 'isEmpty':
      arity(name, args, 0)
      return !target.present
    case 'get':
      arity(name, args, 0)
      if (!target.present) throw new ModelError('Optional.get on an empty Optional (NoSuchElementException)')
      return target.value
    case 'orElse':
      arity(name, args, 1)
      return target.present ? target.value : (args[0] ?? null)
    default:
      throw new ModelError(`Optional has no method ${name}/${args.length}`)
  }
}

/** Builds a read-only string set for host objects (getCatalogs(), getSchemas(), ...). */
export function stringSet(values: Iterable<string>): JavaSet {
  return new JavaSet(values)
}
