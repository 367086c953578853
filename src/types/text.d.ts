/** wrangler and the test pool turn a `.txt` import into a Text module: the file's contents as a string. */
declare module "*.txt" {
  const text: string;
  export default text;
}
