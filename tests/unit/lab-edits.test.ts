import { describe, expect, test } from 'vitest';
import { LabEditsStore, LabSaveError, labEditsKey } from '../../src/storage/lab-edits.ts';
import { MemoryStorage } from '../support/memory-storage.ts';


const starter = { version: 'v1', files: { 'app.ts': 'old' } };

describe('LabEditsStore', () => {
  test('saves each file with a timestamp and the starter it was based on', () => {
    const storage = new MemoryStorage();
    const store = new LabEditsStore(storage, '/course/', '01-clones');
    store.save('app.ts', 'mine', starter, 1000);
    const { saved } = store.load();
    expect(saved).toEqual({ format: 1, lab: '01-clones', starterVersion: 'v1', starter: starter.files, files: { 'app.ts': { text: 'mine', savedAt: 1000 } } });
    expect(storage.getItem(labEditsKey('/course/', '01-clones'))).not.toBeNull();
    expect(labEditsKey('/', '01-clones')).not.toBe(labEditsKey('/course/', '01-clones'));
  });

  test('a corrupt or foreign value is set aside, not deleted, and the lab starts clean', () => {
    const storage = new MemoryStorage();
    const key = labEditsKey('/', '01-clones');
    storage.setItem(key, '{not json');
    const store = new LabEditsStore(storage, '/', '01-clones');
    const { saved, setAside } = store.load();
    expect(saved).toBeUndefined();
    expect(setAside).toMatch(/set-aside/);
    expect(storage.getItem(setAside!)).toBe('{not json');
    expect(storage.getItem(key)).toBeNull();
  });

  test('acknowledging a new starter keeps the edits', () => {
    const store = new LabEditsStore(new MemoryStorage(), '/', '01-clones');
    store.save('app.ts', 'mine', starter, 1);
    store.acknowledgeStarter({ version: 'v2', files: { 'app.ts': 'new' } });
    expect(store.load().saved).toMatchObject({ starterVersion: 'v2', starter: { 'app.ts': 'new' }, files: { 'app.ts': { text: 'mine' } } });
    store.clear();
    expect(store.load().saved).toBeUndefined();
  });

  test('a corrupt value that cannot be moved aside (storage full) is named nowhere, stays as it was, and is never saved over', () => {
    const storage = new MemoryStorage();
    const key = labEditsKey('/', '01-clones');
    storage.setItem(key, '{not json');
    const full = Object.assign(storage, { setItem: () => { throw new DOMException('quota', 'QuotaExceededError'); } });
    const store = new LabEditsStore(full, '/', '01-clones');
    expect(store.load()).toEqual({ blocked: true });
    expect(() => store.save('app.ts', 'mine', starter)).toThrow(LabSaveError);
    expect(storage.getItem(key)).toBe('{not json');
  });

  test('a save the browser refuses says so, with what to do', () => {
    const storage = new MemoryStorage();
    const full = Object.assign(storage, { setItem: () => { throw new DOMException('quota', 'QuotaExceededError'); } });
    expect(() => new LabEditsStore(full, '/', '01-clones').save('app.ts', 'mine', starter)).toThrow(/could not be saved.*Export your work from the Progress page, or free some storage/);
  });
});
