/**
 * The key ring: the first key encrypts, every key decrypts. Rotation puts a new key first and keeps
 * the old ones as `previous_encryption_keys` until a re-encrypt pass has moved every row.
 */
import { Fernet, FernetError } from './fernet.js';

export interface Opened {
  value: string;
  /** Index of the key that opened it; 0 is the current (encrypting) key. */
  keyIndex: number;
}

export class KeyRing {
  readonly #keys: Fernet[];

  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new FernetError('the key ring needs at least one key');
    this.#keys = keys.map((key) => new Fernet(key));
  }

  get size(): number {
    return this.#keys.length;
  }

  encrypt(value: string): string {
    // Index 0 always exists: the constructor refuses an empty ring.
    return this.#keys[0]!.encrypt(value);
  }

  /** Opens a token with the first key that verifies it; throws FernetError when none does. */
  open(token: string): Opened {
    for (const [keyIndex, key] of this.#keys.entries()) {
      try {
        return { value: key.decrypt(token).toString('utf8'), keyIndex };
      } catch (error) {
        if (!(error instanceof FernetError)) throw error;
      }
    }
    throw new FernetError('no configured key opens this value');
  }

  decrypt(token: string): string {
    return this.open(token).value;
  }
}
