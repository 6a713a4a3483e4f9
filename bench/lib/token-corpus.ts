/**
 * Texts to measure the token estimate on (bench/estimate.ts): the repository's own prose, code
 * and JSON, tool schemas, paragraphs in other scripts written for this purpose, and pathological
 * shapes — long runs that an unbounded pre-tokenizer hands to BPE as one piece.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Category = 'prose' | 'code' | 'json' | 'non-Latin';

export interface CorpusText {
  readonly category: Category;
  readonly name: string;
  readonly text: string;
}

/** Every text of the corpus, from the repository at `root` (and the shared recordings, if there). */
export function corpus(root: string, recordings?: string): CorpusText[] {
  const texts: CorpusText[] = [];
  for (const file of ['README.md', ...listFiles(join(root, 'docs'), '.md').map((f) => `docs/${f}`), 'bench/README.md']) {
    texts.push({ category: 'prose', name: file, text: readFileSync(join(root, file), 'utf8') });
  }
  for (const file of listFiles(join(root, 'src'), '.ts')) texts.push({ category: 'code', name: `src/${file}`, text: readFileSync(join(root, 'src', file), 'utf8') });
  texts.push({ category: 'json', name: 'package.json', text: readFileSync(join(root, 'package.json'), 'utf8') });
  TOOL_SCHEMAS.forEach((tools, i) => texts.push({ category: 'json', name: `tools ${i + 1} (as sent: JSON.stringify)`, text: JSON.stringify(tools) }));
  if (recordings) {
    for (const file of listFiles(recordings, '.json')) texts.push({ category: 'json', name: `recording ${file}`, text: readFileSync(join(recordings, file), 'utf8') });
  }
  for (const [name, text] of Object.entries(NON_LATIN)) texts.push({ category: 'non-Latin', name, text });
  return texts;
}

function listFiles(dir: string, suffix: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(suffix)).sort();
}

/** Paragraphs written for this corpus (about the gateway, so the vocabulary is realistic). */
export const NON_LATIN: Record<string, string> = {
  Chinese:
    '网关位于应用程序和模型部署之间，负责在请求转发之前估算提示词的令牌数量，并按照每个项目的限额预留令牌。如果预留的数量超过了每分钟的令牌上限，网关会立即拒绝请求，并告诉客户端需要等待多少秒。响应结束后，网关根据上游报告的实际用量进行结算，把多预留的部分退还给额度。\n\n' +
    '对于流式响应，网关会请求上游在最后一个数据块中附带用量信息；如果上游没有提供，网关就自己统计生成的文本。客户端在中途断开连接时，网关仍然会按照已经生成的内容计费，这样任何一个团队都无法通过提前断开来绕过配额。\n\n' +
    '平台团队可以通过管理控制台、命令行工具、REST 接口或声明式配置文件来设置限额。每一次修改都会在下一个请求上生效，集群中的所有节点共享同一份计数，存储在 Redis 中。即使 Redis 重启后数据被清空，网关也会先从 PostgreSQL 中恢复窗口和配额，再继续接收请求。',
  Japanese:
    'ゲートウェイはアプリケーションとモデルのデプロイメントの間に置かれ、リクエストを転送する前にプロンプトのトークン数を見積もります。見積もった量と最大出力トークン数の合計を、プロジェクトごとの制限に対して予約し、収まらない場合はすぐに429を返します。応答が終わると、上流が報告した実際の使用量で精算し、余った分はすぐに次のリクエストに戻されます。\n\n' +
    'ストリーミングの場合、ゲートウェイは上流に使用量を含めるよう依頼し、最後のチャンクでそれを受け取ります。使用量が届かなかったときは、生成されたテキストを自分で数えます。途中で接続を切ったクライアントにも、それまでに生成された分が課金されます。\n\n' +
    '設定は管理コンソール、コマンドライン、REST API、宣言的な設定ファイルのどれからでも変更でき、変更は次のリクエストから全ノードに適用されます。',
  Russian:
    'Шлюз стоит между приложениями и развёртываниями моделей. Перед тем как переслать запрос, он оценивает число токенов в подсказке и резервирует эту оценку вместе с максимальной длиной ответа во всех лимитах, которые относятся к проекту. Если резерв не помещается, запрос сразу отклоняется с кодом 429 и заголовком Retry-After, который говорит, сколько секунд нужно подождать.\n\n' +
    'Когда ответ получен, резерв пересчитывается по фактическому использованию, которое сообщил поставщик, и неиспользованная часть сразу возвращается. Для потоковых ответов шлюз просит поставщика добавить сведения об использовании в последний фрагмент, а если их нет, сам считает сгенерированный текст.\n\n' +
    'Администраторы платформы управляют лимитами через веб-консоль, командную строку, REST API или декларативный файл конфигурации. Изменение применяется к следующему же запросу на каждом узле кластера.',
  Arabic:
    'تقع البوابة بين التطبيقات ونماذج الذكاء الاصطناعي، وتقدّر عدد الرموز في الطلب قبل إرساله، ثم تحجز هذا العدد مقابل حدود المشروع. إذا لم يتسع الحجز، يُرفض الطلب فورًا مع ذكر عدد الثواني التي يجب انتظارها. بعد وصول الرد، تُحسب الرموز المستخدمة فعلًا ويُعاد الفائض إلى الرصيد.',
  Hindi:
    'गेटवे अनुरोध को आगे भेजने से पहले प्रॉम्प्ट के टोकन का अनुमान लगाता है और प्रोजेक्ट की सीमा के विरुद्ध उन्हें आरक्षित करता है। उत्तर मिलने के बाद वास्तविक उपयोग के अनुसार हिसाब किया जाता है और बचे हुए टोकन तुरंत लौटा दिए जाते हैं। यदि आरक्षण सीमा में नहीं आता, तो अनुरोध तुरंत अस्वीकार कर दिया जाता है।',
  'French, German, emoji':
    'La passerelle estime les jetons de l’invite avant de transmettre la requête — c’est-à-dire qu’elle réserve « au pire » puis rembourse la différence dès la réponse reçue. ' +
    'Die Schätzung läuft vor dem Weiterleiten; überzählige Token werden nach der Antwort sofort zurückgebucht, und Änderungen gelten ab der nächsten Anfrage. ' +
    'Statut : ✅ accepté, 🚀 déployé, 👍🏽 validé — naïve café, façade, Straße, Größe.',
};

/** Tool definitions as applications send them (OpenAI `tools`), from small to large. */
const TOOL_SCHEMAS: readonly unknown[][] = [
  [fn('get_weather', 'Get the current weather for a city', { city: { type: 'string', description: 'City name, e.g. Paris' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, ['city'])],
  [
    fn('search_documents', 'Full-text search over the knowledge base; returns the best matching passages with their source.', {
      query: { type: 'string', description: 'What to look for, in natural language' },
      top_k: { type: 'integer', minimum: 1, maximum: 50, default: 5 },
      filters: { type: 'object', properties: { collection: { type: 'string' }, updated_after: { type: 'string', format: 'date-time' }, tags: { type: 'array', items: { type: 'string' } } } },
    }, ['query']),
    fn('create_ticket', 'Open a support ticket in the tracker.', {
      title: { type: 'string', maxLength: 120 },
      body: { type: 'string', description: 'Markdown description of the problem, steps to reproduce, expected and actual behaviour' },
      priority: { type: 'string', enum: ['low', 'normal', 'high', 'urgent'] },
      assignee: { type: ['string', 'null'], description: 'User name, or null to leave unassigned' },
      labels: { type: 'array', items: { type: 'string' }, uniqueItems: true },
    }, ['title', 'body']),
    fn('run_sql', 'Run a read-only SQL query against the analytics warehouse and return at most 500 rows as JSON.', {
      sql: { type: 'string', description: 'A single SELECT statement' },
      timeout_ms: { type: 'integer', minimum: 100, maximum: 60000 },
    }, ['sql']),
  ],
  Array.from({ length: 12 }, (_, i) =>
    fn(`inventory_${['list', 'get', 'update', 'delete'][i % 4]}_${['items', 'warehouses', 'suppliers'][i % 3]}`, `Inventory operation ${i}: reads or changes records of the inventory service; pages with cursor, filters by status and date range.`, {
      id: { type: 'string', pattern: '^[a-z0-9-]{8,64}$' },
      cursor: { type: ['string', 'null'] },
      status: { type: 'string', enum: ['active', 'archived', 'pending_review'] },
      range: { type: 'object', properties: { from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' } }, required: ['from'] },
      quantity: { type: 'number', exclusiveMinimum: 0 },
    }, i % 2 === 0 ? ['id'] : []),
  ),
];

function fn(name: string, description: string, properties: Record<string, unknown>, required: string[]): unknown {
  return { type: 'function', function: { name, description, parameters: { type: 'object', properties, required, additionalProperties: false } } };
}

/** A deterministic pseudo-random generator (mulberry32), so every run measures the same texts. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomRun(length: number, alphabet: string, seed: number): string {
  const next = random(seed);
  const chars = Array.from(alphabet);
  let text = '';
  while (text.length < length) text += chars[Math.floor(next() * chars.length)];
  return text.slice(0, length);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CJK = Array.from({ length: 2000 }, (_, i) => String.fromCodePoint(0x4e00 + i * 7)).join('');
const EMOJI = Array.from({ length: 64 }, (_, i) => String.fromCodePoint(0x1f600 + i)).join('');

/** Texts an unbounded pre-tokenizer turns into few, huge pieces; `length` in UTF-16 code units. */
export const PATHOLOGICAL: Record<string, (length: number) => string> = {
  'one letter': (n) => 'a'.repeat(n),
  'one CJK character': (n) => '中'.repeat(n),
  'two-character pattern': (n) => 'ab'.repeat(n / 2),
  'random letters, no spaces': (n) => randomRun(n, 'abcdefghijklmnopqrstuvwxyz', 1),
  'random digits': (n) => randomRun(n, '0123456789', 2),
  'random base64': (n) => randomRun(n, BASE64, 3),
  'random CJK, no punctuation': (n) => randomRun(n, CJK, 4),
  'random emoji': (n) => randomRun(n, EMOJI, 5),
  spaces: (n) => ' '.repeat(n),
  'line feeds': (n) => '\n'.repeat(n),
  'one punctuation mark': (n) => '-'.repeat(n),
  'random punctuation': (n) => randomRun(n, '!"#$%&()*+,-./:;<=>?@[]^_{|}~', 6),
  'space, letter': (n) => ' a'.repeat(n / 2),
  'short non-ASCII lines': (n) => 'é\n'.repeat(n / 2),
};

/** `text` repeated (or cut) to `length` code units: ordinary text at a given size. */
export function sized(text: string, length: number): string {
  return text.repeat(Math.ceil(length / text.length)).slice(0, length);
}
