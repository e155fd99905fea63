import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatform } from './container';
import {
  EMBEDDED_REGISTRY,
  WORKSPACE_ROOT,
  findWorkspaceRoot,
  registryOpenOptions,
  resolveRegistryLocation,
  userRegistry,
} from './registry-location';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

describe('registry locations', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'transplant-location-'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const workspaceAt = async (dir: string, name = 'transplant-workspace') => {
    await mkdir(join(dir, 'packages', 'platform'), { recursive: true });
    await mkdir(join(dir, 'registry'), { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name, workspaces: ['packages/*'] }));
    return join(dir, 'packages', 'platform');
  };

  it('recognises the workspace by its package.json, also through a node_modules link into it', async () => {
    expect(WORKSPACE_ROOT).toBe(ROOT);
    expect(findWorkspaceRoot(join(ROOT, 'node_modules', '@transplant', 'platform'))).toBe(ROOT);
    expect(findWorkspaceRoot(await workspaceAt(join(base, 'ws')))).toBe(join(base, 'ws'));
    await symlink(join(base, 'ws', 'packages', 'platform'), join(base, 'link'));
    expect(findWorkspaceRoot(join(base, 'link'))).toBe(join(base, 'ws'));
  });

  it('does not take an install for the workspace, even with a registry/ and a package.json where the workspace would be', async () => {
    // An installed copy: <project>/node_modules/@transplant/platform.
    const installed = join(base, 'project', 'node_modules', '@transplant', 'platform');
    await mkdir(installed, { recursive: true });
    await mkdir(join(base, 'project', 'node_modules', 'registry'));
    expect(findWorkspaceRoot(installed)).toBeUndefined();
    // Even laid out as packages/platform of a workspace-named folder, under node_modules it is not one.
    expect(findWorkspaceRoot(await workspaceAt(join(base, 'project', 'node_modules', 'ws')))).toBeUndefined();
    expect(findWorkspaceRoot(await workspaceAt(join(base, 'other'), 'someone-else'))).toBeUndefined();
    expect(findWorkspaceRoot(join(base, 'missing', 'packages', 'platform'))).toBeUndefined();
  });

  it("puts the user's registry under XDG_DATA_HOME, else ~/.local/share", () => {
    expect(userRegistry({ XDG_DATA_HOME: '/data', HOME: '/home/u' })).toBe('/data/transplant/registry');
    expect(userRegistry({ XDG_DATA_HOME: 'relative', HOME: '/home/u' })).toBe(
      '/home/u/.local/share/transplant/registry',
    );
    expect(userRegistry({ HOME: '/home/u' })).toBe('/home/u/.local/share/transplant/registry');
  });

  it('defaults to the embedded registry in the workspace, and installed to the user registry over the zoo', () => {
    const inside = resolveRegistryLocation(undefined, {});
    expect(inside).toEqual({ location: EMBEDDED_REGISTRY, source: 'embedded', exists: true });
    expect(registryOpenOptions(inside)).toEqual({ create: false });
    expect(registryOpenOptions(inside, true)).toEqual({ create: true });
    const installed = { workspaceRoot: undefined, zoo: EMBEDDED_REGISTRY };
    const env = { XDG_DATA_HOME: join(base, 'data') };
    const where = resolveRegistryLocation(undefined, env, base, installed);
    expect(where).toEqual({
      location: join(base, 'data', 'transplant', 'registry'),
      source: 'default',
      exists: false,
      readThrough: { location: EMBEDDED_REGISTRY, exists: true },
    });
    expect(registryOpenOptions(where)).toEqual({ create: true, readThrough: EMBEDDED_REGISTRY });
    // --registry and TRANSPLANT_REGISTRY behave as in the workspace: that registry alone.
    expect(resolveRegistryLocation('r', env, base, installed)).toEqual({
      location: join(base, 'r'),
      source: 'flag',
      exists: false,
    });
    expect(
      resolveRegistryLocation(undefined, { ...env, TRANSPLANT_REGISTRY: 'oci://h/ns' }, base, installed),
    ).toEqual({ location: 'oci://h/ns', source: 'env', exists: true });
  });

  it('opens the default as the user registry reading through to the zoo, creating nothing by reading', async () => {
    const where = resolveRegistryLocation(undefined, { XDG_DATA_HOME: join(base, 'xdg') }, base, {
      workspaceRoot: undefined,
      zoo: EMBEDDED_REGISTRY,
    });
    const registry = await createPlatform({}).openRegistry(where.location, registryOpenOptions(where));
    expect((await registry.list()).map((m) => m.name)).toContain('cat-seg');
    expect((await registry.resolve('cat-seg')).name).toBe('cat-seg');
    expect(registry.store.location).toBe(`folder:${where.location} over folder:${EMBEDDED_REGISTRY}`);
    expect(existsSync(join(base, 'xdg'))).toBe(false);
  });
});
