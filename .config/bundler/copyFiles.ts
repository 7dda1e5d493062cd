import fs from 'fs';
import path from 'path';
import { getNestedPluginJsonPaths, getPluginJson, hasReadme } from './utils.ts';

// kpiflow: this file departs from the scaffold. The app manifest is the repository's top-level
// plugin.json and goes to dist/plugin.json; each nested plugin (src/<dir>/plugin.json) keeps its
// directory in dist/, and each gets the logos and screenshots it names, relative to itself.
// Patterns are relative to the webpack context (src/).

type PluginJson = {
  info?: { logos?: { small?: string; large?: string }; screenshots?: Array<{ path: string }> };
};

function assetsOf(pluginJson: PluginJson): string[] {
  const logos = [pluginJson.info?.logos?.large, pluginJson.info?.logos?.small];
  const screenshots = pluginJson.info?.screenshots?.map((s) => s.path) ?? [];
  return Array.from(new Set([...logos, ...screenshots])).filter((p): p is string => Boolean(p));
}

// Assets live once in src/ (e.g. src/img/logo.svg) and are copied next to every plugin.json that
// names them (dist/img/logo.svg, dist/datasource/img/logo.svg, ...).
function assetPatterns(pluginDir: string, pluginJson: PluginJson) {
  return assetsOf(pluginJson).map((asset) => ({
    from: asset,
    to: path.posix.join(pluginDir, asset),
    force: true,
  }));
}

const appPluginJson: PluginJson = getPluginJson();
const nested = getNestedPluginJsonPaths().map((p) => {
  const dir = path.posix.dirname(p);
  const json: PluginJson = JSON.parse(fs.readFileSync(path.resolve(process.cwd(), 'src', p), 'utf8'));
  return { dir, json };
});

export const copyFilePatterns = [
  { from: hasReadme() ? 'README.md' : '../README.md', to: '.', force: true, noErrorOnMissing: true },
  { from: '../plugin.json', to: 'plugin.json', force: true },
  { from: '../LICENSE', to: '.', noErrorOnMissing: true },
  { from: '../CHANGELOG.md', to: '.', force: true, noErrorOnMissing: true },
  ...nested.map(({ dir }) => ({ from: `${dir}/plugin.json`, to: `${dir}/plugin.json`, force: true })),
  { from: '**/query_help.md', to: '.', noErrorOnMissing: true },
  ...assetPatterns('.', appPluginJson),
  ...nested.flatMap(({ dir, json }) => assetPatterns(dir, json)),
];
