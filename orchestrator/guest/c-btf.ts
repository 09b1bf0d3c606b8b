// BTF for a map value that holds a bpf_spin_lock, built by hand: ints, struct bpf_spin_lock, arrays, the value struct.
import { byteArrayLength, type ValueLayout } from './suite-model.ts';

interface BtfText {
  /** C declarations of the type words and the string section, and a vmt_btf_desc named `name`. */
  c: string;
  keyTypeId: number;
  valueTypeId: number;
}

export function btfFor(name: string, layout: ValueLayout, keySize: 4 | 8): BtfText {
  const strings: string[] = [''];
  const strOff = (s: string): number => {
    let off = 0;
    for (const t of strings) {
      if (t === s && s !== '') return off;
      off += t.length + 1;
    }
    strings.push(s);
    return off;
  };
  const words: string[] = [];
  let nextId = 1;
  const addInt = (cName: string, bytes: number): number => {
    words.push(`\t/* [${nextId}] INT ${cName} */ ${strOff(cName)}, BTF_KIND_INT << 24, ${bytes}, ${bytes * 8},`);
    return nextId++;
  };
  const u8 = addInt('__u8', 1);
  const u32 = addInt('__u32', 4);
  const u64 = addInt('__u64', 8);
  const lockId = nextId++;
  words.push(`\t/* [${lockId}] STRUCT bpf_spin_lock { __u32 val; } */ ${strOff('bpf_spin_lock')}, (BTF_KIND_STRUCT << 24) | 1, 4,`);
  words.push(`\t\t${strOff('val')}, ${u32}, 0,`);
  const memberType = new Map<string, number>();
  for (const f of layout.fields) {
    const n = byteArrayLength(f.type);
    if (n === undefined || memberType.has(f.type)) continue;
    words.push(`\t/* [${nextId}] ARRAY __u8[${n}] */ 0, BTF_KIND_ARRAY << 24, 0, ${u8}, ${u32}, ${n},`);
    memberType.set(f.type, nextId++);
  }
  const typeOf = (t: string): number => t === 'u32' ? u32 : t === 'u64' ? u64 : t === 'bpf_spin_lock' ? lockId : memberType.get(t)!;
  const valueId = nextId++;
  const structName = `${name}_value`;
  words.push(`\t/* [${valueId}] STRUCT ${structName} */ ${strOff(structName)}, (BTF_KIND_STRUCT << 24) | ${layout.fields.length}, ${layout.size},`);
  for (const f of layout.fields) words.push(`\t\t/* ${f.name} */ ${strOff(f.name)}, ${typeOf(f.type)}, ${f.offset * 8},`);
  const strLiteral = strings.slice(1).map((s) => `"${s}\\0"`).join(' ');
  const c = [
    `static const __u32 ${name}_btf_types[] = {`,
    ...words,
    '};',
    `static const char ${name}_btf_strs[] = "\\0" ${strLiteral};`,
    `static const struct vmt_btf_desc ${name}_btf = {`,
    `\t.types = ${name}_btf_types, .types_len = sizeof(${name}_btf_types),`,
    `\t.strs = ${name}_btf_strs, .strs_len = sizeof(${name}_btf_strs) - 1,`,
    `\t.key_type_id = ${keySize === 4 ? u32 : u64}, .value_type_id = ${valueId},`,
    '};',
  ].join('\n');
  return { c, keyTypeId: keySize === 4 ? u32 : u64, valueTypeId: valueId };
}
