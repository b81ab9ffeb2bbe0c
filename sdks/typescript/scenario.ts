// An integrator's session, written against the TypeScript SDK generated from
// openapi/openapi.json by @hey-api/openapi-ts. Run by sdks/typescript/run.sh against a live
// service: log in, create a household and a child, log a contact, read the child with its
// ETag, update it with If-Match (and see a stale one refused), hit a validation error and read
// its problem fields, and page through a list. Then read a child and a page holding enum values
// added after the SDK was generated, as an older client would see them.

import { client } from './client/client.gen';
import {
  createChild,
  createContact,
  createHousehold,
  createOauthToken,
  getChild,
  getSummaryReportCsv,
  listChildren,
  listRegions,
  updateChild,
} from './client/sdk.gen';
import type { CaseStatus, ChildInput, Problem } from './client/types.gen';

let steps = 0;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    process.exit(1);
  }
  steps += 1;
}

// Forwards to the real service and rewrites the answer's JSON with `edit`: stands in for a
// service that has added enum values since this SDK was generated (README.md, "Versioning
// policy": enums in answers are open for additions). Passed as one call's `fetch`.
function tampering(edit: (body: any) => void): typeof fetch {
  return async (input, init) => {
    const answer = await fetch(input, init);
    const body = await answer.json();
    edit(body);
    const headers = new Headers(answer.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(JSON.stringify(body), { status: answer.status, statusText: answer.statusText, headers });
  };
}

// How an integrator branches on an enum: the values known when the SDK was generated (its type
// lists only those), and a default for values the service adds later.
function caseStatusLabel(status: CaseStatus): string {
  switch (status) {
    case 'screening':
    case 'registered':
    case 'active':
    case 'closed':
      return status;
    default:
      return `other (${status as string})`;
  }
}

async function main(baseUrl: string, username: string, password: string): Promise<void> {
  client.setConfig({ baseUrl });
  const tokens = await createOauthToken({ body: { grant_type: 'password', username, password } });
  check(tokens.data?.token_type === 'Bearer', 'log in');
  const accessToken = tokens.data.access_token;
  // Problems in Simplified Chinese (the default too), codes and field names in English.
  client.setConfig({ baseUrl, auth: () => accessToken, headers: { 'Accept-Language': 'zh-CN' } });

  const regions = await listRegions({ query: { level: 'village', q: '柏墩村' } });
  check(regions.data && regions.data.items.length > 0, 'find the village');
  const village = regions.data.items[0].id;

  const householdInput = {
    region_id: village,
    address: '柏墩村三组12号',
    parents_work_away: true,
    guardians: [{ name: '王秀英', relation: 'grandmother' as const, phone: '13800000000', is_primary: true }],
  };
  const key = crypto.randomUUID();
  const household = await createHousehold({ body: householdInput, headers: { 'Idempotency-Key': key } });
  check(household.data?.guardians[0].name === '王秀英', 'create a household');
  const retry = await createHousehold({ body: householdInput, headers: { 'Idempotency-Key': key } });
  check(
    retry.data?.id === household.data.id && retry.response?.headers.get('idempotent-replayed') === 'true',
    'a retry with the same key answers the first answer, and creates nothing',
  );

  const input: ChildInput = {
    region_id: village,
    household_id: household.data.id,
    name: '王小花',
    sex: 'female',
    birth_date: '2014-09-10',
    categories: ['left_behind'],
  };
  const child = await createChild({ body: input, headers: { 'Idempotency-Key': crypto.randomUUID() } });
  check(child.data?.status === 'screening', 'create a child');
  const id = child.data.id;

  const contact = await createContact({
    body: {
      kind: 'phone_visit',
      household_id: household.data.id,
      occurred_at: '2023-11-20T10:30:00+08:00',
      outcome: 'completed',
    },
  });
  check(contact.data?.household_id === household.data.id, 'log a contact');

  const read = await getChild({ path: { id } });
  const etag = read.response?.headers.get('etag');
  check(read.response?.status === 200 && etag === '"1"', 'read the child with its ETag');
  const cached = await getChild({ path: { id }, headers: { 'If-None-Match': etag } });
  check(cached.response?.status === 304, 'a read of a copy still current is 304');

  const updated = await updateChild({ path: { id }, body: { ...input, school: '桂花镇中心小学' }, headers: { 'If-Match': etag } });
  check(updated.data?.school === '桂花镇中心小学', 'update with If-Match');
  const stale = await updateChild({ path: { id }, body: input, headers: { 'If-Match': etag } });
  const staleProblem = stale.error as Problem | undefined;
  check(stale.response?.status === 412 && staleProblem?.code === 'stale_version', 'a stale If-Match is refused');
  check(staleProblem.detail.startsWith('记录在你读取之后已被修改'), `in Chinese: ${staleProblem.detail}`);

  const refused = await createChild({
    body: { region_id: village, name: '', sex: 'male', birth_date: '2015-01-01', categories: [] },
  });
  const problem = refused.error as Problem | undefined;
  check(refused.response?.status === 400 && problem?.code === 'validation_failed', 'a validation error');
  const fields = (problem.errors ?? []).map((e) => e.field).sort();
  check(JSON.stringify(fields) === '["categories","name"]', `the problem lists each bad field: ${fields}`);
  const name = (problem.errors ?? []).find((e) => e.field === 'name');
  check(name?.message === 'name 的长度须在 1 到 100 之间', `the Chinese message names the bounds: ${name?.message}`);
  check(name?.params?.min === 1 && name?.params?.max === 100, `and so do its params: ${JSON.stringify(name?.params)}`);
  const unknown = await createContact({
    body: { kind: 'phone_visit', household_id: crypto.randomUUID(), occurred_at: '2023-11-20T10:30:00+08:00', outcome: 'completed' },
  });
  const unknownProblem = unknown.error as Problem | undefined;
  check(unknown.response?.status === 422 && unknownProblem?.code === 'validation_failed', 'a reference to nothing is 422');
  const named = (unknownProblem.errors ?? []).map((e) => `${e.field}:${e.code}`);
  check(JSON.stringify(named) === '["household_id:not_found"]', `the problem names the field: ${named}`);
  check(unknownProblem.errors?.[0].message === 'household_id 指向的记录不存在或无权访问', 'a field message in Chinese');

  for (let i = 0; i < 4; i++) {
    await createChild({ body: { region_id: village, name: `孩子${i}`, sex: 'male', birth_date: '2015-01-01', categories: ['in_difficulty'] } });
  }
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listChildren({ query: { limit: 2, cursor } });
    check(page.data, 'list a page');
    pages += 1;
    seen.push(...page.data.items.map((c) => c.name));
    cursor = page.data.next_cursor ?? undefined;
  } while (cursor);
  check(seen.length === 5 && pages === 3, `page through a list: ${seen} in ${pages} pages`);

  const csv = await getSummaryReportCsv({ query: { from: '2023-01-01' }, parseAs: 'text' });
  check(typeof csv.data === 'string' && csv.data.includes('\n建档立卡儿童数,'), 'download a report as CSV, its labels in Chinese');

  // The SDK's enums are types only: nothing checks them at run time, so new values pass through.
  const moved = await getChild({
    path: { id },
    fetch: tampering((c) => {
      c.status = 'transferred_out';
      c.categories.push('kinship_care');
    }),
  });
  check(moved.response?.status === 200 && moved.data, 'a child with a new status resolves');
  check((moved.data.status as string) === 'transferred_out', `the new status is kept: ${moved.data.status}`);
  check(caseStatusLabel(moved.data.status) === 'other (transferred_out)', 'code branching on it takes its default');
  check(
    JSON.stringify(moved.data.categories) === '["left_behind","kinship_care"]',
    `a new value in an enum array is kept: ${moved.data.categories}`,
  );
  const newer = await listChildren({
    query: { limit: 2 },
    fetch: tampering((p) => {
      p.items[0].sex = 'unspecified';
    }),
  });
  check(newer.data?.items.length === 2, 'a page with a new value in one item resolves');
  check((newer.data.items[0].sex as string) === 'unspecified', `the new value is kept: ${newer.data.items[0].sex}`);
  check(['female', 'male'].includes(newer.data.items[1].sex), 'and the other items are as they were');
  console.log(`typescript SDK scenario: ${steps} steps passed`);
}

const [baseUrl, username, password] = process.argv.slice(2);
main(baseUrl, username, password).catch((e) => {
  console.error(e);
  process.exit(1);
});
