// Photos are made small on the phone before they are kept or sent: at most 1600 px on the long
// side, JPEG, lowered in quality (then in size) until the file is at most 300 KB. A village's
// weak signal carries that, and the server refuses anything larger.
export const MAX_PHOTO_BYTES = 300 * 1024
export const MAX_PHOTOS = 3

async function decoded(file: Blob): Promise<ImageBitmap | HTMLImageElement> {
  if ('createImageBitmap' in window) {
    try { return await createImageBitmap(file) } catch { /* fall back to an <img> */ }
  }
  const url = URL.createObjectURL(file)
  try {
    const image = new Image()
    image.src = url
    await image.decode()
    return image
  } finally {
    URL.revokeObjectURL(url)
  }
}

function encoded(canvas: HTMLCanvasElement, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('encoding failed'))), 'image/jpeg', quality))
}

export async function shrunk(file: Blob): Promise<Blob> {
  const image = await decoded(file)
  let longSide = Math.min(1600, Math.max(image.width, image.height))
  for (;;) {
    const scale = longSide / Math.max(image.width, image.height)
    const canvas = document.createElement('canvas')
    canvas.width = Math.max(1, Math.round(image.width * scale))
    canvas.height = Math.max(1, Math.round(image.height * scale))
    canvas.getContext('2d')!.drawImage(image, 0, 0, canvas.width, canvas.height)
    for (const quality of [0.85, 0.75, 0.65, 0.55]) {
      const blob = await encoded(canvas, quality)
      if (blob.size <= MAX_PHOTO_BYTES) return blob
    }
    longSide = Math.round(longSide * 0.75)
  }
}
