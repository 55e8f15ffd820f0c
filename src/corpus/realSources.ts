// The Debian packages that ship recordings of real people, and how to list their clips: speaker, language,
// label and text of every recording, read from each package's own index files (XML themes, transcripts).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Ids of the real-speech sources, in import order. */
export const REAL_SOURCE_IDS = ['ktuberling', 'klettres', 'asterisk-en'] as const;
export type RealSourceId = (typeof REAL_SOURCE_IDS)[number];

/** A Debian package of real speech and where its recordings lie. */
export interface RealSpeechSource {
  readonly id: RealSourceId;
  /** The apt package holding the recordings. */
  readonly aptPackage: string;
  /** License of the recordings, as the package's copyright file gives it. */
  readonly license: string;
  /** Copyright holders of the recordings, as the package's copyright file gives them. */
  readonly copyright: string;
  /** What the recordings are. */
  readonly description: string;
  /** Folder of the recordings, absolute on the system (under `root` when one is given). */
  readonly dataDir: string;
}

/** The catalogue. Packages found but not imported are listed in docs/CORPUS.md with the reason. */
export const REAL_SOURCES: readonly RealSpeechSource[] = Object.freeze([
  {
    id: 'ktuberling',
    aptPackage: 'ktuberling-data',
    license: 'GPL-2+',
    copyright: 'KDE KTuberling contributors (2000-2017)',
    description: 'KTuberling sound themes: single words (objects of the game\'s scenes) read by one volunteer per language',
    dataDir: '/usr/share/ktuberling/sounds',
  },
  {
    id: 'klettres',
    aptPackage: 'klettres-data',
    license: 'GPL-2+',
    copyright: 'KDE KLettres contributors (2001-2011)',
    description: 'KLettres: letters and syllables read by native speakers, one volunteer per language',
    dataDir: '/usr/share/klettres',
  },
  {
    id: 'asterisk-en',
    aptPackage: 'asterisk-core-sounds-en-wav',
    license: 'CC-BY-SA-3.0',
    copyright: 'Allison Smith (2003-2010)',
    description: 'Asterisk PBX prompts in US English by one professional speaker, 8 kHz telephone band',
    dataDir: '/usr/share/asterisk/sounds/en_US_f_Allison',
  },
]);

/** The source with `id`. */
export function realSource(id: string): RealSpeechSource | undefined {
  return REAL_SOURCES.find((s) => s.id === id);
}

/** One recording as a source lists it, before decoding. */
export interface SourceClip {
  /** Speaker id, `<source>-<folder>` (e.g. `ktuberling-en`). */
  speaker: string;
  /** Language tag of the folder as the package writes it (`en`, `pt_BR`, `sr@latin`). */
  languageTag: string;
  /** Clip id, unique within the speaker: the file's path inside its folder, without extension, `/` → `-`. */
  clip: string;
  /** The name the package's index gives the recording (KTuberling: an English concept such as `egypt_camel`). */
  label: string;
  /** What is said, when the package says it (KLettres letters, Asterisk transcripts, KTuberling English); else null. */
  text: string | null;
  /** System path of the file (`/usr/share/…`), as recorded in the manifest. */
  sourcePath: string;
  /** Other labels the index gives the same file. */
  aliases: string[];
}

/** What a source lists: its clips, and index entries whose files are absent. */
export interface SourceListing {
  clips: SourceClip[];
  missingFiles: { sourcePath: string; label: string }[];
}

/** `<root>` + system path. */
export function onRoot(root: string, systemPath: string): string {
  return join(root, ...systemPath.split('/').filter((p) => p !== ''));
}

/** Attributes of one XML start tag (`name="…"`), with the five predefined entities decoded. */
function attributes(tag: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const match of tag.matchAll(/([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    const raw = match[2] ?? match[3] ?? '';
    result.set(
      match[1]!,
      raw.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!),
    );
  }
  return result;
}

/** `<sound name=… file=…/>` entries of an index file, comments removed, in file order. */
function soundEntries(xml: string): { name: string; file: string; section: string }[] {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '');
  const entries: { name: string; file: string; section: string }[] = [];
  let section = '';
  for (const match of text.matchAll(/<(\/?)(alphabet|syllables|sound)\b([^>]*)>/g)) {
    if (match[2] !== 'sound') {
      section = match[1] === '/' ? '' : match[2]!;
      continue;
    }
    const attrs = attributes(match[3]!);
    const name = attrs.get('name');
    const file = attrs.get('file');
    if (name !== undefined && file !== undefined && file !== '') entries.push({ name, file, section });
  }
  return entries;
}

/** `[A-Za-z0-9_-]` form of a path or tag: other characters become `_`, `/` and `@` become `-`. */
export function safeId(text: string): string {
  return text.replace(/[/@]/g, '-').replace(/[^A-Za-z0-9_-]/g, '_');
}

const stripExtension = (path: string): string => path.replace(/\.[A-Za-z0-9]+$/, '');

/** The scene prefixes of KTuberling's concept names; the rest of an English label is the word read. */
const KTUBERLING_SCENES = /^(egypt|tv|moon|pizzeria|butterflies|robot|xmas)_/;

/** Builds clips from index entries of one folder: one clip per file (repeated files keep their other labels). */
function clipsOf(
  source: RealSpeechSource,
  root: string,
  folder: string,
  entries: { label: string; text: string | null; file: string }[],
  listing: SourceListing,
): void {
  const speaker = `${source.id}-${safeId(folder)}`;
  const byPath = new Map<string, SourceClip>();
  for (const entry of entries) {
    const sourcePath = posix.join(source.dataDir, entry.file);
    const known = byPath.get(sourcePath);
    if (known !== undefined) {
      if (known.label !== entry.label && !known.aliases.includes(entry.label)) known.aliases.push(entry.label);
      continue;
    }
    if (!isFile(onRoot(root, sourcePath))) {
      listing.missingFiles.push({ sourcePath, label: entry.label });
      continue;
    }
    const inFolder = entry.file.startsWith(`${folder}/`) ? entry.file.slice(folder.length + 1) : entry.file;
    const clip: SourceClip = {
      speaker,
      languageTag: folder,
      clip: safeId(stripExtension(inFolder)),
      label: entry.label,
      text: entry.text,
      sourcePath,
      aliases: [],
    };
    byPath.set(sourcePath, clip);
    listing.clips.push(clip);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function listKtuberling(source: RealSpeechSource, root: string): SourceListing {
  const dir = onRoot(root, source.dataDir);
  const listing: SourceListing = { clips: [], missingFiles: [] };
  const themes = readdirSync(dir).filter((f) => f.endsWith('.soundtheme')).sort();
  for (const theme of themes) {
    const folder = theme.slice(0, -'.soundtheme'.length);
    const xml = readFileSync(join(dir, theme), 'utf8');
    const entries = soundEntries(xml).map((e) => ({
      label: e.name,
      text: folder === 'en' ? e.name.replace(KTUBERLING_SCENES, '').replace(/[_-]/g, ' ') : null,
      file: e.file,
    }));
    clipsOf(source, root, folder, entries, listing);
  }
  return listing;
}

function listKlettres(source: RealSpeechSource, root: string): SourceListing {
  const dir = onRoot(root, source.dataDir);
  const listing: SourceListing = { clips: [], missingFiles: [] };
  const folders = readdirSync(dir).filter((f) => isFile(join(dir, f, 'sounds.xml'))).sort();
  for (const folder of folders) {
    const entries = soundEntries(readFileSync(join(dir, folder, 'sounds.xml'), 'utf8')).map((e) => ({
      label: `${e.section === 'syllables' ? 'syllable' : 'letter'} ${e.name}`,
      text: e.name,
      file: e.file,
    }));
    clipsOf(source, root, folder, entries, listing);
  }
  return listing;
}

/** Transcripts of the Asterisk prompts: `name: text` lines of core-sounds-en.txt(.gz); `;` starts a comment. */
function asteriskTranscripts(root: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const candidate of ['/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz', '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt']) {
    const path = onRoot(root, candidate);
    if (!existsSync(path)) continue;
    const raw = readFileSync(path);
    const text = (candidate.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    for (const line of text.split('\n')) {
      const match = /^([^;:\s][^:]*):\s*(.*)$/.exec(line.trim());
      if (match !== null) result.set(match[1]!.trim(), match[2]!.trim());
    }
    break;
  }
  return result;
}

function listAsterisk(source: RealSpeechSource, root: string): SourceListing {
  const dir = onRoot(root, source.dataDir);
  const transcripts = asteriskTranscripts(root);
  const files: string[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(dir, relative)).sort()) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else if (name.endsWith('.wav')) files.push(path);
    }
  };
  walk('');
  const entries = files
    .map((file) => {
      const name = stripExtension(file);
      const text = transcripts.get(name) ?? null;
      return { label: name, text, file };
    })
    // Bracketed transcripts are tones, silence and sound effects ("[sound of monkeys screaming]"), not speech.
    .filter((e) => e.text === null || !e.text.startsWith('['));
  const listing: SourceListing = { clips: [], missingFiles: [] };
  // One speaker for the whole package; clip ids keep the sub-folder (`digits-1`).
  for (const e of entries) {
    const sourcePath = posix.join(source.dataDir, e.file);
    listing.clips.push({
      speaker: 'asterisk-allison',
      languageTag: 'en_US',
      clip: safeId(stripExtension(e.file)),
      label: e.label,
      text: e.text,
      sourcePath,
      aliases: [],
    });
  }
  return listing;
}

/** True when the source's recordings folder exists under `root`. */
export function sourcePresent(source: RealSpeechSource, root: string): boolean {
  try {
    return statSync(onRoot(root, source.dataDir)).isDirectory();
  } catch {
    return false;
  }
}

/** Lists a present source's clips (order: folders, then index order). */
export function listSourceClips(source: RealSpeechSource, root: string): SourceListing {
  switch (source.id) {
    case 'ktuberling':
      return listKtuberling(source, root);
    case 'klettres':
      return listKlettres(source, root);
    case 'asterisk-en':
      return listAsterisk(source, root);
  }
}

/** Primary language subtag of a package's language tag: `pt_BR` → `pt`, `sr@latin` → `sr`, `en_US` → `en`. */
export function primaryLanguage(tag: string): string {
  return tag.split(/[_@-]/)[0]!.toLowerCase();
}
