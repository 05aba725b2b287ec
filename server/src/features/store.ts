import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { minimatch } from 'minimatch';
import { Emitter, type Connection, type Event, type TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { DatasetInfoEntry } from '../core/formats';
import type { RuleServices } from '../core/rules';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../core/settings';
import { DatasetValidator, type FileKind, type ValidationResult } from '../core/validator';
import { datasetInfoFor, looksLikeJsonDataset } from '../node/files';
import type { ClientInfo } from './context';
import { LineDocument } from './lineDocument';
import { prefillLines } from '../node/prefill';

/** A validation of one document version. */
export interface ValidatedDocument {
  uri: string;
  version: number;
  /** Changes whenever the document, its settings or anything it was validated against changes. */
  resultId: string;
  result: ValidationResult;
  ms: number;
}

/** Everything the server keeps about one open dataset document. */
export interface DocumentState {
  readonly uri: string;
  /** Undefined for documents that are not files (untitled). */
  readonly filePath: string | undefined;
  kind: FileKind;
  readonly settings: Settings;
  readonly datasetInfo: DatasetInfoEntry | undefined;
  /** One validator per document, so its per-record cache follows the document's edits. */
  readonly validator: DatasetValidator;
  lastResult?: ValidatedDocument;
  /** How many times the document was validated (not served from the version cache). */
  validations: number;
  /** The last validation failure, cleared by the next success. */
  error?: string;
}

/** What `getResult` answers: a validation, or the reason there is none. */
export type DocumentResult =
  | { isDataset: true; state: DocumentState; validated: ValidatedDocument }
  | { isDataset: false; uri: string };

/** Extra services for a document's validator (e.g. a media probe); see `DocumentStore.provideServices`. */
export type ServicesProvider = (doc: { uri: string; filePath: string | undefined; settings: Settings }) => RuleServices;

const HEAD_CHARS = 65536;

/**
 * Per-document state for the language server: settings per resource (workspace/configuration),
 * one `DatasetValidator` per document, and the last result per document version. Features ask it
 * for results; it validates on demand (the client pulls, the server keeps no timers).
 */
export class DocumentStore {
  private readonly states = new Map<string, DocumentState>();
  /** Open documents a report was asked for: their validations carry the report's facts. */
  private readonly reportUris = new Set<string>();
  private readonly settingsCache = new Map<string, Promise<Settings>>();
  private readonly servicesProviders: ServicesProvider[] = [];
  private readonly validated = new Emitter<DocumentState>();
  private readonly leftDatasets = new Emitter<string>();
  /** Open documents last seen as datasets (survives settings reloads, unlike `states`). */
  private readonly datasetUris = new Set<string>();
  /** Settings pushed with didChangeConfiguration, for clients that cannot be asked per resource. */
  private pushedSettings: Settings = DEFAULT_SETTINGS;
  /** Bumped by every invalidation, so cached results and result ids go stale. */
  private generation = 0;
  private refreshing = false;
  private refreshAgain = false;

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly client: ClientInfo,
  ) {
    documents.onDidClose((e) => this.forget(e.document.uri));
  }

  /** Fires after each validation (success or failure) of a dataset document. */
  get onDidValidate(): Event<DocumentState> {
    return this.validated.event;
  }

  /** Fires with the uri of an open document that was a dataset and no longer is (its content or the globs changed). */
  get onDidStopBeingDataset(): Event<string> {
    return this.leftDatasets.event;
  }

  /** Adds services to every validator created from now on (call at registration, before documents open). */
  provideServices(provider: ServicesProvider): void {
    this.servicesProviders.push(provider);
  }

  /**
   * From now on the document's validations also record the facts only the report reads (the
   * near-duplicate signatures): a report was asked for it. Its records are analysed again once.
   */
  includeReportFacts(uri: string): void {
    this.reportUris.add(uri);
    const state = this.states.get(uri);
    if (!state || state.validator.reportFacts) return;
    state.validator.enableReportFacts();
    delete state.lastResult;
  }

  /** The state of an open dataset document, if it was validated since its settings last changed. */
  peek(uri: string): DocumentState | undefined {
    return this.states.get(uri);
  }

  /** Validates the document if its version (or anything it depends on) changed since the last call. */
  async getResult(uri: string): Promise<DocumentResult | undefined> {
    if (!this.documents.get(uri)) return undefined;
    const settings = await this.settingsFor(uri);
    // The document may have changed or closed while the client answered.
    const document = this.documents.get(uri);
    if (!document) return undefined;
    const filePath = filePathOf(uri);
    const kind = this.datasetKind(document, filePath, settings);
    if (!kind) {
      this.states.delete(uri);
      if (this.datasetUris.delete(uri)) this.leftDatasets.fire(uri);
      return { isDataset: false, uri };
    }
    this.datasetUris.add(uri);
    let state = this.states.get(uri);
    if (!state || state.settings !== settings) {
      state = this.createState(uri, filePath, kind, settings);
      this.states.set(uri, state);
    }
    // A big JSON Lines document opened cold: worker threads analyse its records first (prefill.ts),
    // then it is validated from the warm cache, as the document is by then.
    const prefill = document instanceof LineDocument && kind === 'jsonl' ? prefillLines(state.validator, document) : undefined;
    if (prefill && (await prefill)) return this.getResult(uri);
    const last = state.lastResult;
    const resultId = `${this.generation}:${document.version}`;
    if (last && last.resultId === resultId && state.kind === kind) {
      return { isDataset: true, state, validated: last };
    }
    state.kind = kind;
    const start = performance.now();
    try {
      // Big documents are kept as lines (lineDocument.ts): JSON Lines are then validated line by
      // line, so an edit costs the lines it touched instead of re-splitting the whole text.
      const result = document instanceof LineDocument && kind === 'jsonl' ? state.validator.validateLines(document) : state.validator.validateText(document.getText(), kind);
      state.lastResult = { uri, version: document.version, resultId, result, ms: performance.now() - start };
      delete state.error;
    } catch (err) {
      // Validation is meant never to throw; if it does, keep showing the last good result.
      state.error = err instanceof Error ? err.message : String(err);
      this.connection.console.error(`Tunekit: validating ${uri} failed: ${err instanceof Error ? (err.stack ?? err.message) : state.error}`);
    }
    state.validations++;
    this.validated.fire(state);
    if (!state.lastResult) throw new Error(state.error);
    return { isDataset: true, state, validated: state.lastResult };
  }

  /**
   * Forgets cached record analyses: those whose record text matches `records`, or all of them.
   * Call `refresh()` afterwards so the client pulls the new diagnostics.
   */
  invalidate(records?: (recordText: string) => boolean): void {
    this.generation++;
    for (const state of this.states.values()) {
      if (records) state.validator.invalidateWhere(records);
      else state.validator.clearCache();
    }
  }

  /**
   * Settings changed: forgets settings, validators and dataset_info.json lookups, so the next pull
   * re-reads them. `pushed` is the didChangeConfiguration payload, used by clients that cannot
   * answer workspace/configuration.
   */
  reloadSettings(pushed?: unknown): void {
    if (pushed && typeof pushed === 'object' && 'tunekit' in pushed) {
      this.pushedSettings = this.parse(pushed.tunekit, 'the pushed settings');
    }
    this.generation++;
    this.settingsCache.clear();
    this.states.clear();
  }

  /** Asks the client to pull diagnostics again. Calls made while a refresh is in flight coalesce into one more. */
  refresh(): void {
    if (!this.client.capabilities.workspace?.diagnostics?.refreshSupport) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    this.connection.languages.diagnostics
      .refresh()
      .catch((err: unknown) => this.connection.console.warn(`Tunekit: diagnostics refresh failed: ${String(err)}`))
      .finally(() => {
        this.refreshing = false;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refresh();
        }
      });
  }

  /** The document's settings (section `tunekit`, scoped to the document), parsed through the one schema. */
  settingsFor(uri: string): Promise<Settings> {
    if (!this.client.capabilities.workspace?.configuration) return Promise.resolve(this.pushedSettings);
    let cached = this.settingsCache.get(uri);
    if (!cached) {
      cached = this.connection.workspace.getConfiguration({ scopeUri: uri, section: 'tunekit' }).then(
        (raw: unknown) => this.parse(raw, uri),
        (err: unknown) => {
          this.connection.console.warn(`Tunekit: could not read settings for ${uri} (${String(err)}); using the defaults.`);
          return DEFAULT_SETTINGS;
        },
      );
      this.settingsCache.set(uri, cached);
    }
    return cached;
  }

  private parse(raw: unknown, where: string): Settings {
    const { settings, problems } = parseSettings(raw);
    for (const p of problems) this.connection.console.warn(`Tunekit settings (${where}): ${p}`);
    return settings;
  }

  private createState(uri: string, filePath: string | undefined, kind: FileKind, settings: Settings): DocumentState {
    const datasetInfo = filePath ? datasetInfoFor(filePath) : undefined;
    const services: RuleServices = {};
    for (const provide of this.servicesProviders) Object.assign(services, provide({ uri, filePath, settings }));
    const formatContext = { ...(datasetInfo ? { datasetInfo } : {}), ...(filePath ? this.fileContext(filePath) : {}) };
    const validator = new DatasetValidator({ settings, formatContext, services, reportFacts: this.reportUris.has(uri) });
    return { uri, filePath, kind, settings, datasetInfo, validator, validations: 0 };
  }

  /**
   * Which documents are datasets: `.jsonl`/`.ndjson` (and the `jsonl` language) always; `.json`
   * when its content is an array whose first record has a known format, or when it matches
   * `tunekit.datasetFiles` and holds an array (the default globs, such as `**\/*test*.json`, also
   * match configuration files, which are objects; an empty new file is not a dataset yet).
   */
  private datasetKind(document: TextDocument, filePath: string | undefined, settings: Settings): FileKind | undefined {
    const name = (filePath ?? document.uri).toLowerCase();
    if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || document.languageId === 'jsonl') return 'jsonl';
    if (document.languageId !== 'json' && !name.endsWith('.json')) return undefined;
    if (path.basename(name) === 'dataset_info.json') return undefined;
    const head = document.getText().slice(0, HEAD_CHARS);
    if (looksLikeJsonDataset(head)) return 'json';
    const first = /[^\s\ufeff]/.exec(head)?.[0];
    if (first === '[' && filePath && this.matchesDatasetGlobs(filePath, settings.datasetFiles)) return 'json';
    return undefined;
  }

  /** The file's folder and its workspace folder: relative media paths resolve against them. */
  private fileContext(filePath: string): { fileDir: string; rootDir?: string } {
    const fileDir = path.dirname(filePath);
    for (const folder of this.client.workspaceFolders) {
      const root = filePathOf(folder.uri);
      const rel = root ? path.relative(root, filePath) : '..';
      if (root && !rel.startsWith('..') && !path.isAbsolute(rel)) return { fileDir, rootDir: root };
    }
    return { fileDir };
  }

  private matchesDatasetGlobs(filePath: string, globs: readonly string[]): boolean {
    const candidates = [toSlashes(filePath)];
    for (const folder of this.client.workspaceFolders) {
      const root = filePathOf(folder.uri);
      if (!root) continue;
      const rel = path.relative(root, filePath);
      if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) candidates.push(toSlashes(rel));
    }
    return globs.some((g) => candidates.some((c) => minimatch(c, g, { dot: true })));
  }

  private forget(uri: string): void {
    this.states.delete(uri);
    this.settingsCache.delete(uri);
    this.datasetUris.delete(uri);
    this.reportUris.delete(uri);
  }
}

/** The file-system path of a `file:` URI, or undefined for other schemes (untitled, …). */
export function filePathOf(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

function toSlashes(p: string): string {
  return p.replace(/\\/g, '/');
}
