import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes of ipa workflows, so the Web UI and CLI can list them by pipeline and SLA. */
export const IpaPipeline = defineSearchAttributeKey('IpaPipeline', SearchAttributeType.KEYWORD);
export const IpaSlaMs = defineSearchAttributeKey('IpaSlaMs', SearchAttributeType.INT);

export const SEARCH_ATTRIBUTE_KEYS = [IpaPipeline, IpaSlaMs];
