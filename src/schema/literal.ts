// Whether a field is written out in full in its document: then it means the same on every request that sends that document.

import { Kind } from 'graphql';
import type { FieldNode, ValueNode } from 'graphql';

/** Whether any argument of the field names a variable, anywhere inside its value. */
export function namesVariable(node: FieldNode): boolean {
  const stack: ValueNode[] = (node.arguments ?? []).map((a) => a.value);
  while (stack.length) {
    const v = stack.pop()!;
    if (v.kind === Kind.VARIABLE) return true;
    if (v.kind === Kind.LIST) for (const x of v.values) stack.push(x);
    else if (v.kind === Kind.OBJECT) for (const f of v.fields) stack.push(f.value);
  }
  return false;
}
