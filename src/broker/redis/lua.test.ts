import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadLuaScripts, luaDirectory } from './lua.js';

describe('redis broker Lua scripts', () => {
  it('are found from src/ and from the compiled dist/src/ layout', () => {
    const fromSrc = luaDirectory();
    assert.match(fromSrc, /src\/broker\/redis\/lua\/$/);
    // As seen by dist/src/broker/redis/lua.js after `tsc` (tsc does not copy .lua files).
    const root = new URL('../../../', import.meta.url);
    const fromDist = luaDirectory(new URL('dist/src/broker/redis/lua.js', root));
    assert.equal(fromDist, fromSrc);
    assert.throws(() => luaDirectory(pathToFileURL('/nowhere/a/b/c/d/lua.js')), /not found/);
  });

  it('load the publish and history scripts', () => {
    const scripts = loadLuaScripts();
    assert.match(scripts.publish, /XADD/);
    assert.match(scripts.history, /XRANGE/);
  });
});
