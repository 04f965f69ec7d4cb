import { describe, expect, it } from 'vitest';
import { folderPlaceProblem } from '../../../src/renderer/src/pages/folders/folderPlace';

const folders = [{ id: 'work', path: '/home/me/work' }];

describe('where a new folder may be watched', () => {
  it('refuses the same folder, one inside a watched folder, and one that holds a watched folder', () => {
    expect(folderPlaceProblem('/home/me/work/', folders)).toMatch(/already watches/);
    expect(folderPlaceProblem('/home/me/work/docs', folders)).toMatch(/inside folder "work"/);
    expect(folderPlaceProblem('/home/me', folders)).toMatch(/"work" \(\/home\/me\/work\) is inside this one/);
  });

  it('accepts a sibling whose name only begins the same way', () => {
    expect(folderPlaceProblem('/home/me/workshop', folders)).toBeUndefined();
  });
});
