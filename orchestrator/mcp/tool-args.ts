// A command's options as an MCP tool's arguments: the schema read from the command's own yargs builder,
// and a tool call's arguments written back as that command's line, which yargs then parses as it does the CLI's.
import yargs, { type Argv } from 'yargs';
import { z } from 'zod';
import type { ResultCommand } from '../commands/context.ts';

/** One option (or positional) of a command, as its builder declares it. */
export interface ToolOption {
  name: string;
  type: 'string' | 'number' | 'boolean';
  array: boolean;
  choices?: readonly string[];
  describe?: string;
  default?: unknown;
  /** A positional (parse <file>): given in its place on the line, not as --name. */
  positional: boolean;
  required: boolean;
}

/** What yargs knows of the options it was given; public at run time, absent from @types/yargs. */
interface YargsIntrospection {
  getOptions(): {
    key: Record<string, boolean>; string: string[]; number: string[]; boolean: string[]; array: string[];
    choices: Record<string, string[]>; default: Record<string, unknown>; alias: Record<string, string[]>;
  };
  getInternalMethods(): { getUsageInstance(): { getDescriptions(): Record<string, string | undefined> } };
}

/** yargs' own options, which a tool call never gives. */
const YARGS_OWN = ['help', 'version'];

/** The options and positionals of a command, in the order its builder declares them, minus `omit` and the aliases. */
export function commandOptions(command: ResultCommand<unknown>, omit: readonly string[] = []): ToolOption[] {
  const y = yargs([]);
  if (typeof command.builder === 'function') (command.builder as (y: Argv) => Argv)(y);
  else if (command.builder) y.options(command.builder);
  const known = (y as unknown as YargsIntrospection).getOptions();
  const descriptions = (y as unknown as YargsIntrospection).getInternalMethods().getUsageInstance().getDescriptions();
  const aliases = new Set(Object.values(known.alias).flat());
  // 'parse <file>': <x> is required, [x] is not.
  const spec = [command.command].flat()[0] ?? '';
  const positionals = new Map([...spec.matchAll(/([<[])([\w-]+)[>\]]/g)].map((m) => [m[2]!, m[1] === '<']));
  return Object.keys(known.key)
    .filter((name) => !aliases.has(name) && !YARGS_OWN.includes(name) && !omit.includes(name))
    .map((name) => {
      const type = known.number.includes(name) ? 'number' : known.boolean.includes(name) ? 'boolean' : 'string';
      return {
        name,
        type,
        array: known.array.includes(name),
        ...(known.choices[name] ? { choices: known.choices[name] } : {}),
        ...(descriptions[name] ? { describe: descriptions[name] } : {}),
        ...(name in known.default ? { default: known.default[name] } : {}),
        positional: positionals.has(name),
        required: positionals.get(name) === true,
      };
    });
}

/** A string option with a default is turned off by --no-NAME (--no-series: the pristine tree); as an argument, false. */
const negatable = (o: ToolOption) => o.type === 'string' && !o.array && !o.choices && o.default !== undefined;

/** The zod shape of a tool's arguments: one per option, named as on the command line, with its description and default. */
export function argumentShape(options: readonly ToolOption[]): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const o of options) {
    let item: z.ZodType = o.choices ? z.enum(o.choices as [string, ...string[]])
      : o.type === 'number' ? z.number()
      : o.type === 'boolean' ? z.boolean()
      // A positional that starts with '-' would be read as an option.
      : o.positional ? z.string().min(1).refine((v) => !v.startsWith('-'), 'starts with \'-\' (write ./NAME)')
      : z.string();
    if (o.array) item = z.array(item);
    if (negatable(o)) item = z.union([item, z.literal(false)]);
    const described = [o.describe, o.default !== undefined ? `default: ${JSON.stringify(o.default)}` : undefined, negatable(o) ? `false: --no-${o.name}` : undefined];
    item = item.describe(described.filter(Boolean).join('; '));
    shape[o.name] = o.required ? item : item.optional();
  }
  return shape;
}

/** A tool call's arguments (checked against argumentShape) as the command's line, after `words` (the command's name). */
export function commandLineOf(words: readonly string[], options: readonly ToolOption[], args: Record<string, unknown>): string[] {
  const line = [...words];
  for (const o of options.filter((o) => o.positional)) if (args[o.name] !== undefined) line.push(String(args[o.name]));
  for (const o of options.filter((o) => !o.positional)) {
    const value = args[o.name];
    if (value === undefined) continue;
    // --name=VALUE: a value that starts with '-' stays the option's value.
    if (value === true) line.push(`--${o.name}`);
    else if (value === false) line.push(`--no-${o.name}`);
    else if (Array.isArray(value)) line.push(...value.map((v) => `--${o.name}=${String(v)}`));
    else line.push(`--${o.name}=${String(value)}`);
  }
  return line;
}
