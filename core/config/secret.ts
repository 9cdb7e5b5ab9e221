// A secret config value: prints, logs and serialises as "<secret>"; only reveal() gives the text.

const MASK = '<secret>';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return MASK;
  }
  toJSON(): string {
    return MASK;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return MASK;
  }
}

/** Removes the user and password from a URL, for logs and error messages. */
export function redactUrl(url: string): string {
  if (!url.includes('@') || !url.includes('://')) return url;
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    // Not a URL we can parse (host:port@…): drop everything up to the last @.
    return url.slice(url.lastIndexOf('@') + 1);
  }
}
