import fs from 'fs';
import process from 'process';
import os from 'os';
import path from 'path';
import { glob } from 'glob';
import { SOURCE_DIR } from './constants.ts';

export function isWSL() {
  if (process.platform !== 'linux') {
    return false;
  }

  if (os.release().toLowerCase().includes('microsoft')) {
    return true;
  }

  try {
    return fs.readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft');
  } catch {
    return false;
  }
}

function loadJson(path: string) {
  const rawJson = fs.readFileSync(path, 'utf8');
  return JSON.parse(rawJson);
}

export function getPackageJson() {
  return loadJson(path.resolve(process.cwd(), 'package.json'));
}

// kpiflow: the app manifest lives at the top of the repository (DESIGN.md), not in src/.
export const APP_PLUGIN_JSON = 'plugin.json';

export function getPluginJson() {
  return loadJson(path.resolve(process.cwd(), APP_PLUGIN_JSON));
}

// kpiflow: the nested plugins' manifests (data source, panels), relative to src/, e.g.
// `datasource/plugin.json`. The app manifest is not among them: see APP_PLUGIN_JSON.
export function getNestedPluginJsonPaths(): string[] {
  return glob
    .sync(`${SOURCE_DIR}/**/plugin.json`, { cwd: process.cwd() })
    .map((p) => path.relative(SOURCE_DIR, p))
    .sort();
}

export function getCPConfigVersion() {
  const cprcJson = path.resolve(process.cwd(), './.config', '.cprc.json');
  return fs.existsSync(cprcJson) ? loadJson(cprcJson).version : { version: 'unknown' };
}

export function hasReadme() {
  return fs.existsSync(path.resolve(process.cwd(), SOURCE_DIR, 'README.md'));
}

// Support bundling nested plugins by finding all plugin.json files in src directory
// then checking for a sibling module.[jt]sx? file.
export async function getEntries() {
  const pluginsJson = await glob(`${SOURCE_DIR}/**/plugin.json`, { absolute: true });
  // kpiflow: the app's module sits in src/ while its plugin.json sits at the repository root.
  pluginsJson.push(path.resolve(process.cwd(), SOURCE_DIR, APP_PLUGIN_JSON));

  const plugins = await Promise.all(
    pluginsJson.map((pluginJson) => {
      const folder = path.dirname(pluginJson);
      return glob(`${folder}/module.{ts,tsx,js,jsx}`, { absolute: true });
    })
  );

  return plugins.reduce<Record<string, string>>((result, modules) => {
    return modules.reduce((innerResult, module) => {
      const pluginPath = path.dirname(module);
      const pluginName = path.relative(process.cwd(), pluginPath).replace(/src\/?/i, '');
      const entryName = pluginName === '' ? 'module' : `${pluginName}/module`;

      innerResult[entryName] = module;
      return innerResult;
    }, result);
  }, {});
}
