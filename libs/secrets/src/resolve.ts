import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, registerSecret } from '@trips/core';

/** Prefix of a setting given as KMS ciphertext: `NAME=kms:<base64 CiphertextBlob>`. */
export const KMS_PREFIX = 'kms:';
/** Prefix of a setting kept in Secrets Manager: `NAME=secretsmanager:<secret id or ARN>[#json key]`. */
export const SECRETS_MANAGER_PREFIX = 'secretsmanager:';

export interface ResolveOptions {
  kms?: KMSClient;
  secretsManager?: SecretsManagerClient;
  /** Region for the clients made here (the SDK's own settings otherwise). */
  region?: string;
}

/**
 * The environment with every `kms:` setting decrypted (KMS Decrypt; the ciphertext names its key)
 * and every `secretsmanager:` setting fetched, ready for loadConfig. Plain values pass through.
 * Resolved values are registered as secrets, so no log line or error of this process shows them;
 * a failure stops start-up with a ConfigError naming the setting, never its value.
 */
export async function resolveSettings(env: Record<string, string | undefined> = process.env, opts: ResolveOptions = {}): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = { ...env };
  const entries = Object.entries(env);
  // The SDK's clients are loaded only when a setting needs one: a task with none (a local run)
  // starts without them, about 25 ms sooner (docs/scale.md).
  const needs = (prefix: string) => entries.some(([, value]) => value?.startsWith(prefix));
  const region = opts.region ?? env.AWS_REGION;
  const kms = needs(KMS_PREFIX) ? await import('@aws-sdk/client-kms').then((sdk) => ({ sdk, client: opts.kms ?? new sdk.KMSClient({ region }) })) : undefined;
  const sm = needs(SECRETS_MANAGER_PREFIX)
    ? await import('@aws-sdk/client-secrets-manager').then((sdk) => ({ sdk, client: opts.secretsManager ?? new sdk.SecretsManagerClient({ region }) }))
    : undefined;
  await Promise.all(
    entries.map(async ([name, value]) => {
      if (value === undefined) return;
      if (kms && value.startsWith(KMS_PREFIX)) {
        out[name] = await decrypt(kms.client, kms.sdk.DecryptCommand, name, value.slice(KMS_PREFIX.length));
      } else if (sm && value.startsWith(SECRETS_MANAGER_PREFIX)) {
        out[name] = await fetchSecret(sm.client, sm.sdk.GetSecretValueCommand, name, value.slice(SECRETS_MANAGER_PREFIX.length));
      } else return;
      registerSecret(out[name] as string);
    }),
  );
  return out;
}

async function decrypt(kms: KMSClient, Decrypt: typeof import('@aws-sdk/client-kms').DecryptCommand, name: string, base64: string): Promise<string> {
  const blob = Buffer.from(base64.trim(), 'base64');
  if (blob.length === 0 || blob.toString('base64').replace(/=+$/, '') !== base64.trim().replace(/=+$/, '')) {
    throw new ConfigError(`${name}: the value after "kms:" is not base64 ciphertext`);
  }
  try {
    const { Plaintext } = await kms.send(new Decrypt({ CiphertextBlob: blob }));
    if (!Plaintext) throw new Error('KMS returned no plaintext');
    return Buffer.from(Plaintext).toString('utf8');
  } catch (e) {
    throw new ConfigError(`${name}: KMS could not decrypt it (${(e as Error).name}: ${firstSentence((e as Error).message)}); check the ciphertext and that this role may use its key`);
  }
}

async function fetchSecret(sm: SecretsManagerClient, GetSecretValue: typeof import('@aws-sdk/client-secrets-manager').GetSecretValueCommand, name: string, ref: string): Promise<string> {
  const hash = ref.indexOf('#');
  const id = hash >= 0 ? ref.slice(0, hash) : ref;
  const key = hash >= 0 ? ref.slice(hash + 1) : undefined;
  let text: string | undefined;
  try {
    text = (await sm.send(new GetSecretValue({ SecretId: id }))).SecretString;
  } catch (e) {
    throw new ConfigError(`${name}: Secrets Manager could not return secret ${id} (${(e as Error).name}); check its name and this role's access`);
  }
  if (text === undefined) throw new ConfigError(`${name}: secret ${id} holds no string`);
  if (key === undefined) return text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${name}: secret ${id} is not JSON, so it has no key "${key}"`);
  }
  const value = (json as Record<string, unknown>)[key];
  if (value === undefined || value === null) throw new ConfigError(`${name}: secret ${id} has no key "${key}"`);
  return String(value);
}

function firstSentence(message: string): string {
  return message.split('\n')[0].slice(0, 160);
}
