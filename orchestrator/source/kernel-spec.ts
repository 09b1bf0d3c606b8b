// The --kernel argument: a local tree, git:<url>#<ref>, or deb:<source package>[=<version>][@<suite>].
import { resolve } from 'node:path';

export type KernelSpec =
  | { kind: 'deb'; package: string; version?: string; suite?: string }
  | { kind: 'git'; url: string; ref: string }
  | { kind: 'local'; path: string };

/** When neither --kernel nor the series manifest names a base. */
export const FALLBACK_KERNEL = 'deb:linux-source-6.12';

const DEB_SPEC = /^(linux-source-[0-9][0-9.]*)(?:=([A-Za-z0-9.+~:-]+))?(?:@([a-z][a-z0-9-]*))?$/;

export function parseKernelSpec(text: string, cwd: string = process.cwd()): KernelSpec | { error: string } {
  if (text.startsWith('deb:')) {
    const match = DEB_SPEC.exec(text.slice(4));
    if (!match) {
      return { error: `--kernel ${text}: expected deb:linux-source-<N.M>[=<Debian version>][@<suite>], e.g. deb:linux-source-7.2=7.2.6-1~bpo13+1@trixie-backports or ${FALLBACK_KERNEL}` };
    }
    return { kind: 'deb', package: match[1]!, ...(match[2] ? { version: match[2] } : {}), ...(match[3] ? { suite: match[3] } : {}) };
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
      return `deb:${spec.package}${spec.version ? `=${spec.version}` : ''}${spec.suite ? `@${spec.suite}` : ''}`;
    case 'git':
      return `git:${spec.url}#${spec.ref}`;
    case 'local':
      return spec.path;
  }
}
