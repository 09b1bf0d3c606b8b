// The --kernel argument: a local tree, git:<url>#<ref>, or deb:<source package>.
import { resolve } from 'node:path';

export type KernelSpec =
  | { kind: 'deb'; package: string }
  | { kind: 'git'; url: string; ref: string }
  | { kind: 'local'; path: string };

export const DEFAULT_KERNEL = 'deb:linux-source-6.12';

export function parseKernelSpec(text: string, cwd: string = process.cwd()): KernelSpec | { error: string } {
  if (text.startsWith('deb:')) {
    const pkg = text.slice(4);
    if (!/^linux-source-[0-9][0-9.]*$/.test(pkg)) return { error: `--kernel ${text}: expected deb:linux-source-<version>, e.g. ${DEFAULT_KERNEL}` };
    return { kind: 'deb', package: pkg };
  }
  if (text.startsWith('git:')) {
    const rest = text.slice(4);
    const hash = rest.lastIndexOf('#');
    if (hash <= 0 || hash === rest.length - 1) return { error: `--kernel ${text}: expected git:<url>#<ref>, e.g. git:https://host/bpf-next.git#master` };
    return { kind: 'git', url: rest.slice(0, hash), ref: rest.slice(hash + 1) };
  }
  if (text === '') return { error: '--kernel: empty value' };
  return { kind: 'local', path: resolve(cwd, text) };
}

export function describeKernelSpec(spec: KernelSpec): string {
  switch (spec.kind) {
    case 'deb':
      return `deb:${spec.package}`;
    case 'git':
      return `git:${spec.url}#${spec.ref}`;
    case 'local':
      return spec.path;
  }
}
