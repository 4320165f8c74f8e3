import { existsSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { applyPatch, type Operation } from 'fast-json-patch';
import { parse } from 'yaml';
import {
  at,
  isRecord,
  type Json,
  list,
  readText,
  readYaml,
  readYamlDocuments,
  record,
  repoPath,
  text,
} from './read.js';

/*
 * `kustomize build` for the subset of kustomization fields deploy/k8s uses. No kustomize is
 * installable from npm (it is a Go binary), so the test builds the overlays itself — and refuses
 * any field it does not build, so an overlay can never carry something this silently skips:
 *
 *   resources           files (multi-document YAML) and directories holding a kustomization.yaml
 *   configMapGenerator  ConfigMaps from `files` in the kustomization's own folder (key: the file's
 *                       name), with generatorOptions `disableNameSuffixHash: true` (required: this
 *                       does not rewrite references to a hashed name) and `labels`
 *   patches             RFC 6902 JSON patches with a { kind, name } target (fast-json-patch,
 *                       which throws on a path that does not resolve, as kustomize does; a target
 *                       that matches nothing is refused here, where kustomize skips it)
 *   images              newName / newTag of the containers whose image has that name
 *   namespace           set on every object (every kind used here is namespaced)
 */

export interface K8sObject extends Json {
  apiVersion: string;
  kind: string;
  metadata: Json & { name: string };
}

const BUILT_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'configMapGenerator',
  'generatorOptions',
  'patches',
  'images',
  'namespace',
]);

/** The objects `kustomize build <dir>` would print, `dir` relative to the repository root. */
export function kustomizeBuild(dir: string): K8sObject[] {
  const file = posix.join(dir, 'kustomization.yaml');
  if (!existsSync(repoPath(file))) throw new Error(`${dir}: no kustomization.yaml`);
  const kustomization = record(readYaml(file), file);
  if (kustomization.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || kustomization.kind !== 'Kustomization') {
    throw new Error(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  }
  for (const field of Object.keys(kustomization)) {
    if (!BUILT_FIELDS.has(field))
      throw new Error(`${file}: field "${field}" is not built by tests/deploy/kustomize.ts`);
  }

  const objects: K8sObject[] = [];
  for (const entry of list(kustomization.resources ?? [], `${file} resources`)) {
    const path = posix.normalize(posix.join(dir, text(entry, `${file} resource`)));
    if (!existsSync(repoPath(path))) throw new Error(`${file}: resource ${path} does not exist`);
    const loaded = statSync(repoPath(path)).isDirectory()
      ? kustomizeBuild(path)
      : readYamlDocuments(path).map((doc) => k8sObject(doc, path));
    for (const object of loaded) {
      if (objects.some((o) => o.kind === object.kind && o.metadata.name === object.metadata.name)) {
        throw new Error(`${file}: ${object.kind} ${object.metadata.name} is defined twice`);
      }
      objects.push(object);
    }
  }
  for (const object of generatedConfigMaps(dir, kustomization)) {
    if (objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === object.metadata.name)) {
      throw new Error(`${file}: ConfigMap ${object.metadata.name} is defined twice`);
    }
    objects.push(object);
  }

  for (const [index, entry] of list(kustomization.patches ?? [], `${file} patches`).entries()) {
    const what = `${file} patches[${index}]`;
    const kind = text(at(entry, 'target', 'kind'), `${what} target.kind`);
    const name = text(at(entry, 'target', 'name'), `${what} target.name`);
    const operations = list(parse(text(at(entry, 'patch'), `${what} patch`)), `${what} patch`) as Operation[];
    const targets = objects.filter((o) => o.kind === kind && o.metadata.name === name);
    if (targets.length === 0) throw new Error(`${what}: no ${kind} ${name} to patch`);
    for (const target of targets) applyPatch(target, operations, true, true);
  }

  for (const [index, entry] of list(kustomization.images ?? [], `${file} images`).entries()) {
    const what = `${file} images[${index}]`;
    const name = text(at(entry, 'name'), `${what} name`);
    const newName = at(entry, 'newName');
    const newTag = at(entry, 'newTag');
    let matched = 0;
    for (const container of objects.flatMap(containersOf)) {
      const [image, tag] = splitImage(text(container.image, `${what}: container image`));
      if (image !== name) continue;
      matched++;
      const finalName = typeof newName === 'string' ? newName : image;
      const finalTag = typeof newTag === 'string' ? newTag : tag;
      container.image = finalTag === undefined ? finalName : `${finalName}:${finalTag}`;
    }
    if (matched === 0) throw new Error(`${what}: no container runs image ${name}`);
  }

  if (kustomization.namespace !== undefined) {
    const namespace = text(kustomization.namespace, `${file} namespace`);
    for (const object of objects) object.metadata.namespace = namespace;
  }
  return objects;
}

/** The ConfigMaps of a kustomization's configMapGenerator (see the top of this file). */
function generatedConfigMaps(dir: string, kustomization: Json): K8sObject[] {
  const file = posix.join(dir, 'kustomization.yaml');
  const generators = list(kustomization.configMapGenerator ?? [], `${file} configMapGenerator`);
  if (generators.length === 0) return [];
  const options = record(kustomization.generatorOptions ?? {}, `${file} generatorOptions`);
  for (const field of Object.keys(options)) {
    if (field !== 'disableNameSuffixHash' && field !== 'labels')
      throw new Error(`${file}: generatorOptions.${field} is not built by tests/deploy/kustomize.ts`);
  }
  if (options.disableNameSuffixHash !== true) {
    throw new Error(`${file}: generated names get a hash suffix (disableNameSuffixHash), which this does not build`);
  }
  const labels = options.labels === undefined ? undefined : record(options.labels, `${file} generatorOptions.labels`);
  return generators.map((entry, index) => {
    const what = `${file} configMapGenerator[${index}]`;
    for (const field of Object.keys(record(entry, what))) {
      if (field !== 'name' && field !== 'files') throw new Error(`${what}: field "${field}" is not built here`);
    }
    const data: Record<string, string> = {};
    for (const source of list(at(entry, 'files'), `${what} files`)) {
      const path = posix.normalize(posix.join(dir, text(source, `${what} file`)));
      // kustomize's default load restrictor: no file from outside the kustomization's folder.
      if (!path.startsWith(`${dir}/`)) throw new Error(`${what}: ${path} is outside ${dir}`);
      data[posix.basename(path)] = readText(path);
    }
    const name = text(at(entry, 'name'), `${what} name`);
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, ...(labels ? { labels: { ...labels } } : {}) },
      data,
    };
  });
}

/** The containers (and init containers) of a workload's pod template; none for other kinds. */
export function containersOf(object: K8sObject): Json[] {
  const spec = at(object, 'spec', 'template', 'spec');
  if (!isRecord(spec)) return [];
  return [...list(spec.initContainers ?? [], 'initContainers'), ...list(spec.containers ?? [], 'containers')].map(
    (c, i) => record(c, `${object.kind} ${object.metadata.name} container ${i}`),
  );
}

function k8sObject(doc: unknown, path: string): K8sObject {
  const object = record(doc, path);
  text(object.apiVersion, `${path}: apiVersion`);
  text(object.kind, `${path}: kind`);
  text(at(object, 'metadata', 'name'), `${path}: metadata.name`);
  return object as K8sObject;
}

/** `registry:5000/a/b:tag` → [`registry:5000/a/b`, `tag`]; a digest is not used here. */
function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}
