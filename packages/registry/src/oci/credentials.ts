import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TransplantError, type Environment } from '@transplant/core';

export interface OciCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Credentials for a registry host, from the environment (TRANSPLANT_REGISTRY_USERNAME and
 * TRANSPLANT_REGISTRY_PASSWORD) or the credentials file (TRANSPLANT_CREDENTIALS, default
 * ~/.config/transplant/credentials.json: `{ "registries": { "host:port": { "username", "password" } } }`).
 * Never from the command line, and never printed.
 */
export async function resolveCredentials(
  host: string,
  env: Environment,
): Promise<OciCredentials | undefined> {
  const username = env['TRANSPLANT_REGISTRY_USERNAME'];
  const password = env['TRANSPLANT_REGISTRY_PASSWORD'];
  if (username && password) return { username, password };
  const path =
    env['TRANSPLANT_CREDENTIALS'] ||
    join(env['HOME'] || homedir(), '.config', 'transplant', 'credentials.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const entry = (
      JSON.parse(text) as { registries?: Record<string, { username?: unknown; password?: unknown }> }
    ).registries?.[host];
    if (entry && typeof entry.username === 'string' && typeof entry.password === 'string')
      return { username: entry.username, password: entry.password };
    return undefined;
  } catch {
    throw new TransplantError('E_AUTH', `the credentials file ${path} is not valid JSON`, {
      operation: 'resolveCredentials',
    });
  }
}
