// What the host needs, how to tell it is there, and which Debian/Ubuntu package provides it.
import { access, constants } from 'node:fs/promises';
import type { ExecPort } from '../exec/exec-port.ts';

export interface Requirement {
  what: string;
  /** A command on PATH, or an absolute file, that proves it is installed. */
  probe: { command: string } | { file: string };
  aptPackage: string;
  neededFor: string;
  /** Only --full-selftests needs it (the tree's own selftests Makefile). */
  fullSelftests?: boolean;
  /** Only --series lore:<message-id> needs it (b4 am). */
  lore?: boolean;
  /**
   * The guest runs it: its root is the host's, so the selftests' commands are the host's programs. Their packages'
   * versions are part of a kept verdict's key (guestUserland).
   */
  guest?: boolean;
}

/** What a run asks for beyond the default: the tools only some runs need. */
export interface HostNeeds {
  fullSelftests?: boolean;
  lore?: boolean;
}

/** Whether a run needs this requirement (a boolean: --full-selftests, as before). */
export function isNeeded(requirement: Requirement, needs: HostNeeds | boolean = {}): boolean {
  const asked = typeof needs === 'boolean' ? { fullSelftests: needs } : needs;
  if (requirement.fullSelftests && !asked.fullSelftests) return false;
  if (requirement.lore && !asked.lore) return false;
  return true;
}

export const REQUIREMENTS: readonly Requirement[] = [
  { what: 'git', probe: { command: 'git' }, aptPackage: 'git', neededFor: 'importing the kernel tree and git am' },
  { what: 'make', probe: { command: 'make' }, aptPackage: 'make', neededFor: 'the kernel build' },
  { what: 'gcc', probe: { command: 'gcc' }, aptPackage: 'gcc', neededFor: 'the kernel build and guest programs' },
  { what: 'static libc', probe: { file: '/usr/lib/x86_64-linux-gnu/libc.a' }, aptPackage: 'libc6-dev', neededFor: 'static guest programs' },
  { what: 'flex', probe: { command: 'flex' }, aptPackage: 'flex', neededFor: 'Kconfig' },
  { what: 'bison', probe: { command: 'bison' }, aptPackage: 'bison', neededFor: 'Kconfig' },
  { what: 'bc', probe: { command: 'bc' }, aptPackage: 'bc', neededFor: 'the kernel build' },
  { what: 'libelf', probe: { file: '/usr/include/libelf.h' }, aptPackage: 'libelf-dev', neededFor: 'objtool, libbpf' },
  { what: 'zlib', probe: { file: '/usr/include/zlib.h' }, aptPackage: 'zlib1g-dev', neededFor: 'libbpf, test_progs' },
  { what: 'openssl headers', probe: { file: '/usr/include/openssl/ssl.h' }, aptPackage: 'libssl-dev', neededFor: 'the kernel build (sign-file)' },
  { what: 'openssl', probe: { command: 'openssl' }, aptPackage: 'openssl', neededFor: 'the signing certificate 7.x test_progs registers (verify_sig_setup.sh genkey)' },
  { what: 'pahole', probe: { command: 'pahole' }, aptPackage: 'dwarves', neededFor: 'vmlinux BTF (--kconfig btf, --full-selftests)' },
  { what: 'rsync', probe: { command: 'rsync' }, aptPackage: 'rsync', neededFor: 'make headers_install (the UAPI headers the guest programs and test_progs build against), the full selftests Makefile' },
  { what: 'xz', probe: { command: 'xz' }, aptPackage: 'xz-utils', neededFor: 'unpacking linux-source' },
  { what: 'apt-get', probe: { command: 'apt-get' }, aptPackage: 'apt', neededFor: 'fetching deb: kernel sources (a private apt state in the cache)' },
  { what: 'dpkg-deb', probe: { command: 'dpkg-deb' }, aptPackage: 'dpkg', neededFor: 'unpacking deb: kernel sources' },
  { what: 'Debian archive keyring', probe: { file: '/usr/share/keyrings/debian-archive-keyring.gpg' }, aptPackage: 'debian-archive-keyring', neededFor: 'checking the signatures of deb: kernel sources' },
  { what: 'qemu-system-x86_64', probe: { command: 'qemu-system-x86_64' }, aptPackage: 'qemu-system-x86', neededFor: 'booting the kernel' },
  { what: 'busybox (static)', probe: { file: '/bin/busybox' }, aptPackage: 'busybox-static', neededFor: 'the guest init (mount, reboot)' },
  { what: 'ccache', probe: { command: 'ccache' }, aptPackage: 'ccache', neededFor: 'fast rebuilds and revision switches' },
  { what: 'bpftool', probe: { command: 'bpftool' }, aptPackage: 'bpftool', neededFor: 'inspecting BPF objects in the guest (vm-test exec -- bpftool ...; the guest runs the host\'s tools)' },
  { what: 'gdb', probe: { command: 'gdb' }, aptPackage: 'gdb', neededFor: '--gdb: attaching to the guest kernel through QEMU\'s gdbstub' },
  { what: 'clang-19', probe: { command: 'clang-19' }, aptPackage: 'clang-19', neededFor: 'the BPF objects of the full selftests', fullSelftests: true },
  { what: 'llc-19, llvm-strip-19', probe: { command: 'llvm-strip-19' }, aptPackage: 'llvm-19', neededFor: 'the BPF objects of the full selftests', fullSelftests: true },
  // 7.x's test_progs links -lzstd (seen: "cannot find -lzstd" at its link).
  { what: 'zstd library', probe: { file: '/usr/include/zstd.h' }, aptPackage: 'libzstd-dev', neededFor: 'linking the full selftests\' test_progs (-lzstd)', fullSelftests: true },
  // Debian's b4 (0.12 in bookworm): b4 am fetches a thread from lore, or reads a local one (-m).
  { what: 'b4', probe: { command: 'b4' }, aptPackage: 'b4', neededFor: '--series lore:<message-id> (b4 am)', lore: true },
  // 7.x's selftests Makefile links its user-space parts with clang -fuse-ld=lld.
  { what: 'ld.lld-19', probe: { command: 'ld.lld-19' }, aptPackage: 'lld-19', neededFor: 'linking the full selftests (clang-19 -fuse-ld=lld)', fullSelftests: true },
  // What the selftests run in the guest (SYS("ip ..."), SYS("ping ...") in prog_tests/), as the BPF CI's root
  // filesystem has them. Seen missing on 7.2.6: cgroup_storage's pings exited 127 ("command not found").
  { what: 'ip, tc', probe: { command: 'ip' }, aptPackage: 'iproute2', neededFor: 'the selftests in the guest (ip netns, ip link, tc)', fullSelftests: true, guest: true },
  { what: 'ping', probe: { command: 'ping' }, aptPackage: 'iputils-ping', neededFor: 'the selftests in the guest (cgroup_storage, the tc and xdp tests)', fullSelftests: true, guest: true },
  { what: 'ethtool', probe: { command: 'ethtool' }, aptPackage: 'ethtool', neededFor: 'the selftests in the guest (xdp and offload tests)', fullSelftests: true, guest: true },
  { what: 'iptables-legacy', probe: { command: 'iptables-legacy' }, aptPackage: 'iptables', neededFor: 'the selftests in the guest (the netfilter tests)', fullSelftests: true, guest: true },
  { what: 'nft', probe: { command: 'nft' }, aptPackage: 'nftables', neededFor: 'the selftests in the guest (the netfilter tests)', fullSelftests: true, guest: true },
  // signed_loader runs the tree's verify_sig_setup.sh, which adds its key with keyctl (seen failing without it on 7.2.6).
  { what: 'keyctl', probe: { command: 'keyctl' }, aptPackage: 'keyutils', neededFor: 'the selftests in the guest (signed_loader\'s verify_sig_setup.sh)', fullSelftests: true, guest: true },
];

/** The packages whose programs the guest runs: the init's busybox, bpftool and the selftests' commands. */
export const GUEST_PACKAGES: readonly string[] = ['busybox-static', 'bpftool', ...REQUIREMENTS.filter((r) => r.guest).map((r) => r.aptPackage)];

/**
 * The installed versions of GUEST_PACKAGES ("name=version", or "name: absent"), one a line: a verdict kept across
 * runs (bpf-ci's base) depends on them as much as on the kernel, since the guest runs the host's programs.
 */
export async function guestUserland(exec: ExecPort, packages: readonly string[] = GUEST_PACKAGES): Promise<string> {
  const r = await exec.run({ command: 'dpkg-query', args: ['-W', '-f', '${Package}=${Version}\\n', ...packages] });
  const found = new Map(r.stdout.split('\n').filter(Boolean).map((line) => [line.split('=')[0]!, line] as const));
  return packages.map((p) => found.get(p) ?? `${p}: absent`).join('\n');
}

export interface HostCheck {
  requirement: Requirement;
  present: boolean;
}

async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    try {
      await access(`${dir}/${command}`, constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

export async function checkHost(env: NodeJS.ProcessEnv = process.env): Promise<HostCheck[]> {
  return Promise.all(
    REQUIREMENTS.map(async (requirement) => {
      const probe = requirement.probe;
      const present = 'command' in probe
        ? await onPath(probe.command, env)
        : await access(probe.file).then(() => true, () => false);
      return { requirement, present };
    }),
  );
}

export function aptInstallLine(packages: readonly string[]): string {
  return `sudo apt-get update && sudo apt-get install -y ${[...new Set(packages)].join(' ')}`;
}

export type PrivilegedRunner = { command: string; prefix: string[] } | undefined;

/** How to run apt-get: directly as root, through passwordless sudo, or not at all. */
export async function privilegedRunner(exec: ExecPort): Promise<PrivilegedRunner> {
  if (process.getuid?.() === 0) return { command: 'apt-get', prefix: [] };
  const sudo = await exec.run({ command: 'sudo', args: ['-n', 'true'], timeoutMs: 5000 });
  return sudo.exitCode === 0 ? { command: 'sudo', prefix: ['apt-get'] } : undefined;
}

/** Install Debian packages when we may; returns an error text with the exact command otherwise. */
export async function aptInstall(exec: ExecPort, packages: readonly string[], logFile?: string): Promise<string | undefined> {
  if (packages.length === 0) return undefined;
  const runner = await privilegedRunner(exec);
  if (!runner) return `missing packages; run: ${aptInstallLine(packages)}`;
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => exec.run({ command: runner.command, args: [...runner.prefix, 'install', '-y', '-q', ...packages], env, logFile });
  let result = await install();
  if (result.exitCode !== 0) {
    await exec.run({ command: runner.command, args: [...runner.prefix, 'update', '-q'], env, logFile });
    result = await install();
  }
  return result.exitCode === 0 ? undefined : `apt-get install ${packages.join(' ')} failed (exit ${result.exitCode}): ${result.tail.slice(-3).join(' | ')}`;
}
