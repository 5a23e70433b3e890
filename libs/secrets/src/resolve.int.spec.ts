import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, maskSecrets } from '@trips/core';
import { MOTO_CREDENTIALS, MOTO_REGION, startMoto, type LocalMoto } from '@trips/local';
import { resolveSettings } from './resolve';

const ROOT = join(__dirname, '..', '..', '..');
const PG_URL = 'postgres://trips:kms-guarded-pw@warehouse.internal:5432/trips';

// KMS and Secrets Manager for real, on moto's server (Python, set up by the tests in .venv/aws).
describe('settings from KMS ciphertext and Secrets Manager (moto server)', () => {
  let moto: LocalMoto | undefined;
  let kms: KMSClient;
  let sm: SecretsManagerClient;
  const encrypt = async (keyId: string, text: string) =>
    Buffer.from((await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }))).CiphertextBlob as Uint8Array).toString('base64');
  const newKey = async () => (await kms.send(new CreateKeyCommand({ Description: 'trips test key' }))).KeyMetadata?.KeyId as string;

  beforeAll(async () => {
    moto = await startMoto();
    if (!moto) return;
    const client = { endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
    kms = new KMSClient(client);
    sm = new SecretsManagerClient(client);
  }, 600_000);
  afterAll(async () => {
    kms?.destroy();
    sm?.destroy();
    await moto?.close();
  });
  const itWithMoto = (name: string, fn: () => Promise<void>, timeout?: number) =>
    it(name, async () => (moto ? fn() : console.warn(`skipped (no Python 3.10+): ${name}`)), timeout);

  itWithMoto('decrypts a setting given as KMS ciphertext and leaves plain values alone', async () => {
    const env = await resolveSettings({ TRIPS_PG_URL: `kms:${await encrypt(await newKey(), PG_URL)}`, TRIPS_RAW_BUCKET: 'trips-raw', EMPTY: undefined }, { kms });
    expect(env).toEqual({ TRIPS_PG_URL: PG_URL, TRIPS_RAW_BUCKET: 'trips-raw', EMPTY: undefined });
    // Registered: whatever this process prints shows the value as ***.
    expect(maskSecrets(`connecting with ${PG_URL}`)).toBe('connecting with ***');
  });

  itWithMoto('stops on a tampered ciphertext or one of an unknown key, naming the setting and never the value', async () => {
    const keyId = await newKey();
    const good = await encrypt(keyId, 'sftp-password-123');
    const raw = Buffer.from(good, 'base64');
    raw[raw.length - 5] ^= 0xff;
    const tampered = raw.toString('base64');
    const error = await resolveSettings({ TRIPS_SFTP_PASSWORD: `kms:${tampered}` }, { kms }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^TRIPS_SFTP_PASSWORD: KMS could not decrypt it \(InvalidCiphertextException/);
    expect(error.message).not.toContain(tampered.slice(0, 20));

    // A ciphertext naming a key that does not exist (moto writes the key id at the start of the blob).
    const otherKey = Buffer.from(good, 'base64');
    otherKey.write('00000000-0000-0000-0000-000000000000', 0, 'ascii');
    const wrongKey = await resolveSettings({ TRIPS_SFTP_PASSWORD: `kms:${otherKey.toString('base64')}` }, { kms }).catch((e) => e);
    expect(wrongKey).toBeInstanceOf(ConfigError);
    expect(wrongKey.message).toMatch(/^TRIPS_SFTP_PASSWORD: KMS could not decrypt it \((AccessDeniedException|NotFoundException|InvalidCiphertextException)/);
    expect(wrongKey.message).not.toContain('sftp-password-123');

    await expect(resolveSettings({ TRIPS_PG_URL: 'kms:not base64!' }, { kms })).rejects.toThrow('TRIPS_PG_URL: the value after "kms:" is not base64 ciphertext');
  });

  itWithMoto('reads a setting from Secrets Manager, whole or one key of a JSON secret', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'trips/warehouse', SecretString: JSON.stringify({ url: PG_URL, user: 'trips' }) }));
    await sm.send(new CreateSecretCommand({ Name: 'trips/sftp-key', SecretString: 'plain-secret-text' }));
    const env = await resolveSettings({ TRIPS_PG_URL: 'secretsmanager:trips/warehouse#url', TRIPS_SFTP_PASSWORD: 'secretsmanager:trips/sftp-key' }, { secretsManager: sm });
    expect(env).toEqual({ TRIPS_PG_URL: PG_URL, TRIPS_SFTP_PASSWORD: 'plain-secret-text' });
    await expect(resolveSettings({ TRIPS_PG_URL: 'secretsmanager:trips/warehouse#password' }, { secretsManager: sm })).rejects.toThrow('TRIPS_PG_URL: secret trips/warehouse has no key "password"');
    await expect(resolveSettings({ TRIPS_PG_URL: 'secretsmanager:trips/nope' }, { secretsManager: sm })).rejects.toThrow('TRIPS_PG_URL: Secrets Manager could not return secret trips/nope (ResourceNotFoundException)');
  });

  itWithMoto('makes an app stop with exit code 78 and a message naming the setting when its ciphertext is bad', async () => {
    const bad = Buffer.from(await encrypt(await newKey(), PG_URL), 'base64');
    bad[bad.length - 3] ^= 0x55;
    const ciphertext = bad.toString('base64');
    const app = join(ROOT, 'apps', 'load-redshift', 'src', 'main.ts');
    const run = spawnSync(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, app, '--ds', '2018-05-28'], {
      env: { ...process.env, ...moto!.env(), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), TRIPS_WAREHOUSE: 'postgres', TRIPS_PG_URL: `kms:${ciphertext}` },
      encoding: 'utf8',
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('TRIPS_PG_URL: KMS could not decrypt it');
    expect(run.stderr).not.toContain(ciphertext.slice(0, 24));
  }, 60_000);
});
