import type { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/searchAttributes.js';

/** Registers ipa's custom search attributes that the namespace lacks; returns the names it added. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => !(key.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type) as number])),
  });
  return missing.map((key) => key.name);
}

/** The CLI spells types in camel case: KEYWORD_LIST → KeywordList. */
const cliType = (type: string) => type.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());

/** The `temporal` arguments a user runs to register them where ipa may not (Temporal Cloud: use the UI or tcld). */
export function searchAttributeCreateArgs(namespace: string): string[] {
  return SEARCH_ATTRIBUTE_KEYS.map(
    (key) => `operator search-attribute create --namespace ${namespace} --name ${key.name} --type ${cliType(key.type)}`,
  );
}
