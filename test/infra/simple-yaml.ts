/**
 * Reads the YAML subset `azure.yaml` uses: nested mappings of plain or quoted scalars, indented
 * with spaces, `#` comments. Anything else (lists, anchors, multi-line scalars) is refused, so a
 * file this reader cannot represent fails the test instead of being misread.
 */
export type YamlMapping = { [key: string]: YamlValue };
export type YamlValue = string | YamlMapping;

const ENTRY = /^( *)([A-Za-z0-9_.-]+):(?: +(.*))?$/;

function scalar(raw: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(raw);
  return quoted ? quoted[2]! : raw;
}

export function readSimpleYaml(text: string): YamlMapping {
  const root: YamlMapping = {};
  const stack: { indent: number; mapping: YamlMapping }[] = [{ indent: -1, mapping: root }];
  text.split(/\r?\n/).forEach((line, index) => {
    const withoutComment = line.replace(/(^|\s)#.*$/, '').trimEnd();
    if (withoutComment.trim().length === 0) return;
    const entry = ENTRY.exec(withoutComment);
    if (!entry) throw new Error(`line ${index + 1}: unsupported YAML: ${line}`);
    const indent = entry[1]!.length;
    while (stack.length > 1 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1]!.mapping;
    const key = entry[2]!;
    const value = entry[3];
    if (value === undefined || value.length === 0) {
      const child: YamlMapping = {};
      parent[key] = child;
      stack.push({ indent, mapping: child });
    } else {
      parent[key] = scalar(value.trim());
    }
  });
  return root;
}
