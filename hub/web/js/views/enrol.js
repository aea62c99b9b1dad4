// Face enrolment for one employee: photos from files (picker or drag and drop) or the browser camera,
// sent together; the hub's quality verdict is shown in plain words.
import { api } from '../api.js';
import { busy, clear, h, messageSlot, panel } from '../ui.js';

const MAX_PHOTOS = 10;
const HINTS = {
  no_face: 'No face was found in this photo. Use a sharp, front-facing photo with the whole face visible.',
  multiple_faces: 'More than one face is in this photo. Use a photo of this person alone.',
  face_too_small: 'The face is too small. Move closer to the camera or crop the photo around the face.',
  too_blurry: 'The photo is too blurry. Hold the camera still, in good light.',
  already_enrolled: 'This face is already enrolled as someone else. Check that you picked the right person.',
  different_people: 'The photos show different people. Send photos of one person only.',
  not_an_image: 'This file is not a picture the hub can read. Use JPEG or PNG.',
  corrupt_image: 'This picture file is damaged. Try another copy of it.',
  too_many_pixels: 'This picture is too large. Resize it below 40 megapixels.',
  photo_count: `Send between 1 and ${MAX_PHOTOS} photos at once.`,
};

// "photo 2: no_face: no face found" → a sentence for people, keeping the hub's own words.
export function explainEnrolError(message) {
  const m = /^(?:photo (\d+): )?([a-z_]+): (.*)$/s.exec(message || '');
  if (!m) return message;
  const hint = HINTS[m[2]];
  const which = m[1] ? `Photo ${m[1]}: ` : '';
  return hint ? `${which}${hint} (${m[3]})` : message;
}

export function enrolPanel(emp, { onDone }) {
  const msg = messageSlot();
  const photos = []; // {blob, name, url}
  const thumbs = h('div', { class: 'thumbs', 'aria-label': 'Photos to enrol' });
  const input = h('input', { type: 'file', accept: 'image/jpeg,image/png', multiple: true, id: 'enrol-files',
    'aria-label': `Choose photos of ${emp.name}` });
  const drop = h('div', { class: 'dropzone' }, h('p', {}, 'Drop photos here, or '),
    h('label', { for: 'enrol-files', class: 'button secondary' }, 'choose files'), input);
  input.classList.add('visually-hidden');
  const video = h('video', { class: 'camera', autoplay: true, playsinline: true, muted: true, hidden: true });
  let stream = null;
  const camBtn = h('button', { type: 'button', class: 'secondary' }, 'Use camera');
  const snapBtn = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Take photo');
  const send = h('button', { type: 'button', disabled: true }, 'Enrol photos');

  function render() {
    clear(thumbs, photos.map((p, i) => h('figure', {},
      h('img', { src: p.url, alt: `Photo ${i + 1}: ${p.name}` }),
      h('figcaption', {}, `${i + 1}. ${p.name.slice(0, 18)}`),
      h('button', { type: 'button', class: 'small secondary', onclick: () => remove(i) }, 'Remove'))));
    send.disabled = !photos.length;
    send.textContent = photos.length ? `Enrol ${photos.length} photo${photos.length > 1 ? 's' : ''}` : 'Enrol photos';
  }
  function add(blob, name) {
    if (photos.length >= MAX_PHOTOS) {
      msg.show(HINTS.photo_count);
      return;
    }
    photos.push({ blob, name, url: URL.createObjectURL(blob) });
    msg.reset();
    render();
  }
  function remove(i) {
    URL.revokeObjectURL(photos[i].url);
    photos.splice(i, 1);
    render();
  }
  function addFiles(files) {
    for (const f of files) {
      if (!/^image\//.test(f.type)) msg.show(`${f.name} is not a picture; it was left out.`);
      else add(f, f.name);
    }
  }

  input.addEventListener('change', () => { addFiles(input.files); input.value = ''; });
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    addFiles(ev.dataTransfer.files);
  });

  function stopCamera() {
    if (stream) for (const t of stream.getTracks()) t.stop();
    stream = null;
    video.hidden = true;
    snapBtn.hidden = true;
    camBtn.textContent = 'Use camera';
  }
  camBtn.addEventListener('click', async () => {
    if (stream) { stopCamera(); return; }
    if (!navigator.mediaDevices?.getUserMedia) {
      msg.show('This browser cannot use a camera here (the console must be opened over HTTPS or on localhost).');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: false });
      video.srcObject = stream;
      video.hidden = false;
      snapBtn.hidden = false;
      camBtn.textContent = 'Stop camera';
    } catch (err) {
      msg.show(err.name === 'NotAllowedError' ? 'Camera access was refused. Allow it in the browser to take photos.'
        : `No camera could be opened (${err.message || err.name}).`);
    }
  });
  snapBtn.addEventListener('click', () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    canvas.toBlob((blob) => blob && add(blob, `camera-${photos.length + 1}.jpg`), 'image/jpeg', 0.92);
  });

  send.addEventListener('click', () => busy(send, async () => {
    const form = new FormData();
    for (const p of photos) form.append('file', p.blob, p.name);
    try {
      const res = await api(`/api/v1/employees/${emp.id}/faces`, { method: 'POST', form });
      msg.ok(`${emp.name} is enrolled: ${res.template_ids.length} photo(s) accepted, face sizes ${res.face_px.join(', ')} px. Terminals will pick this up with gallery version ${res.gallery_version}.`);
      while (photos.length) remove(0);
      onDone?.();
    } catch (err) {
      msg.show(explainEnrolError(err.message));
    }
  }));

  const el = panel(`Enrol face: ${emp.name}`,
    h('p', { class: 'muted' }, `Add 1 to ${MAX_PHOTOS} clear photos of ${emp.name}, one face each.`),
    drop, h('div', { class: 'row' }, camBtn, snapBtn), video, thumbs, msg, h('div', { class: 'row' }, send));
  el.id = 'enrol-panel';
  return { el, stop: () => { stopCamera(); photos.forEach((p) => URL.revokeObjectURL(p.url)); } };
}
