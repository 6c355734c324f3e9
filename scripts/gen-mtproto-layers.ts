#!/usr/bin/env node
/**
 * Generates src/connectors/mtproto/tl/api-layers.json: the Telegram API schema of every layer
 * in SOURCES, TELETHON_SOURCES and TDLIB_SOURCES, from published .tl texts: the ones npm releases
 * of gramjs (package `telegram`) ship in `tl/apiTl.js` (a CommonJS module exporting the api.tl
 * text as a template string); for the layers between those releases, the api.tl that Telethon's
 * history holds at its "Update to layer N" commits (telethon_generator/data/api.tl); and for the
 * layers after both (199 on), TDLib's telegram_api.tl at its "Update layer to N." commits; and
 * for layers none of those has, Telegram Desktop's api.tl at its last commit of the layer.
 *
 *   node --import tsx scripts/gen-mtproto-layers.ts            # regenerate (needs the npm registry and github.com)
 *   node --import tsx scripts/gen-mtproto-layers.ts --check    # regenerate in memory, compare with the file
 *   ... --telethon DIR                                         # a Telethon git clone to read instead of cloning one
 *   ... --tdlib DIR                                            # the same for TDLib (tdlib/td)
 *   ... --tdesktop DIR                                         # and for Telegram Desktop
 *
 * For each source it runs `npm pack telegram@VERSION` into a temp dir, extracts the two files it
 * needs with `tar`, and checks, before anything is written:
 *   - the text's SHA-256 is the one recorded below (a re-published tarball cannot change a layer
 *     silently; a new source is added with sha256 '' and the script prints the value to record);
 *   - the release's own `LAYER` constant (tl/AllTLObjects.js) is the layer we file it under, or
 *     the documented `layerConstant` where gramjs shipped a schema before bumping the constant;
 *   - every explicit `#id` equals the CRC32 of its line (Telegram's rule), every line parses,
 *     and names and ids are unique within the layer.
 * Which release carries which layer was found by packing the releases and comparing their text
 * with the gram-js/gramjs history of gramjs/tl/static/api.tl (commits named "Update to layer N").
 * A Telethon text is pinned by commit and SHA-256 too, and its `// LAYER N` line must be N.
 * Where both projects have a layer, their definition sets must be the same (checked here for
 * every such layer: two independent copies of Telegram's text), and the gramjs one is used.
 *
 * Output: every distinct definition line once (normalized: comment-free, single spaces), with
 * the layers that contain it as spans over the known layers ("140-181" = every known layer from
 * 140 to 181), plus per layer its source and the SHA-256 of its sorted definition set, so a test
 * can prove that expanding the file gives back each layer exactly.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeConstructorId, parseTlDefinition } from '../src/connectors/mtproto/tl/schema.ts';
import { definitionSetDigest } from '../src/connectors/mtproto/tl/api-layers.ts';

interface Source {
  layer: number;
  /** npm release of `telegram` whose tl/apiTl.js is this layer's schema. */
  version: string;
  sha256: string;
  /** The release's LAYER constant when it lags the schema text it ships. */
  layerConstant?: number;
  note?: string;
}

const SOURCES: Source[] = [
  { layer: 138, version: '2.5.0',
    sha256: '7465eefdc26c365f2c0d27b445a9be4642f3d43df1a4117e6d626e03352904a6' },
  {
    layer: 139, version: '2.6.2',
    sha256: '5a34cc1e918605e98ccd98d2e77a7bab42b8d95d05beadcaaebf5d4478c17a4a', layerConstant: 138,
    note: 'text of gram-js/gramjs commit fff402a "layer 139" (adds phone.getGroupCallStreamRtmpUrl); the release kept LAYER = 138',
  },
  { layer: 140, version: '2.7.27',
    sha256: '28a798d8ea152a1bdc5ee82b7ee8c7023ca8ac57c1ecfcf27f3e4a8bc5adb752' },
  { layer: 143, version: '2.9.2',
    sha256: '9077d047942dda6d24f0f657e418626a1030fa9bdb0b9333cbc3439f7106331c' },
  { layer: 145, version: '2.11.5',
    sha256: '0cc42a1af4f62b4d90655a735668e205c26610b41ec3b015fb7e49212692e2ec' },
  { layer: 148, version: '2.14.7',
    sha256: '8793eb0c8324a1d43f6798d4f629e3b3c3f1da7af455b398e5308b64cd6006c3' },
  { layer: 150, version: '2.15.2',
    sha256: '79feee68dd23df03c8d1c229fcc50fea99818bc3b38a1c126b6e2b8dc3fe8e0a' },
  { layer: 152, version: '2.15.15',
    sha256: 'c902a51e2f45f67a79c3b59c2bfd76a5539df8fc3554e24092390baa5bada376' },
  { layer: 158, version: '2.17.3',
    sha256: 'e1a33fe2509a72af61421985a722c3c48f8a538691944a2fd6e6e8d588e9649a' },
  { layer: 160, version: '2.18.26',
    sha256: 'a698b48dc0d08fc541925b78ec01e0886fa399012f4c94bae15202df04727998' },
  { layer: 165, version: '2.19.8',
    sha256: 'bd6566f76b683df704e91bce8b4a0f0613b1fb094288a75e1279dc0d07141c66' },
  { layer: 174, version: '2.19.20',
    sha256: '62a36aef4966914beb32816392106e8d71704a51b0bf340cd7dfde2707617fed' },
  { layer: 177, version: '2.20.14',
    sha256: '91524d4888ffe0a65a58903338f3dab987b1bb10644abbe532b67ed304f52dc9' },
  { layer: 179, version: '2.21.2',
    sha256: 'a951f09d0b090fbb911ba38545f125d47123c17642575e785c4a53611af10639' },
  { layer: 181, version: '2.22.1',
    sha256: 'd3956cf1460674d42547c3cd6fd26b45f5a8b1efadbbecade5802de16f5dd12f' },
  { layer: 184, version: '2.23.10',
    sha256: 'e101bd8284f318d6d96c10116586ea4667293d67c31d1fc99836b990f4e166aa' },
  { layer: 193, version: '2.26.8',
    sha256: '72e675ffd52ef5e287a7e4f0e458316f4aa1fefb3415f622e3ce39b9803dbda2' },
  { layer: 198, version: '2.26.22',
    sha256: '21d90024d9db9e6f0ff3cf5be998fb47318e051b76014766cbef5cc1ecc54090' },
];

/** A layer from a project's git history: its schema file at one commit (Telethon's api.tl, TDLib's telegram_api.tl). */
interface GitSource {
  layer: number;
  commit: string;
  sha256: string;
}

/** A project whose git history holds layers: where, which, what to compare, and how to read a layer's text from it. */
interface GitHistory {
  /** `--<flag> DIR` reads a clone of it instead of cloning one. */
  flag: string;
  repository: string;
  name: string;
  path: string;
  sources: GitSource[];
  crossChecks: Array<{ layer: number; commit: string }>;
  text(clone: string, layer: number, commit: string, pinned?: string): string;
}

const TELETHON_REPOSITORY = 'https://github.com/LonamiWebs/Telethon';
const TELETHON_PATH = 'telethon_generator/data/api.tl';

/**
 * Layers between the gramjs releases above that clients announce (Telethon 1.25 speaks 144, 1.26
 * 149...): served by the nearest older layer, a client would get constructors it cannot read
 * wherever Telegram changed one in between (layer 144's userFull is not 143's).
 */
const TELETHON_SOURCES: GitSource[] = [
  { layer: 144, commit: 'd5c864597c39290e1b0c8685f435c5c922440bd8', sha256: '4d4c5adf6d67cfb12d5b309020a3d05fef86758a03baf45bcf306fffe311cc4f' },
  { layer: 146, commit: 'f819593cbf42cbfa5d51c6474a6cd34a58706d4c', sha256: 'ba16bf92d16a2cdcb07672ac0b463e9fea6bc3d9b5641adced6f9cd9f006ebdc' },
  { layer: 149, commit: 'bd1ba3bf1e600d816ef0ceeb51779835e90d4924', sha256: 'ad5229b179d1350bca43eee099a5c538613f9d4148b7933cd87a4fca02e2cc8f' },
  { layer: 151, commit: '2007c83c9e1b1c85e60e4eca8e8651fcb120ee88', sha256: '53b88e0873d7e5c9aab54d9d0b8ef4d4eaa15dde37e1df618c361206bf9c53eb' },
  { layer: 154, commit: '373601500fb48108ad76a948ae0db6c2a065de8a', sha256: '837aa13de32b168d84ecb00368f2a34a768552d6720d3273b382281f3c6b27ee' },
  { layer: 155, commit: '177386e75561275e55aaa9aef3416fe391706956', sha256: '509400232b134c9e6be6610d12fe34faec9ca9afa2ebc8906401b0d64c7fbb39' },
  { layer: 161, commit: '72f16ef73e879d42f3fb80840b6c58d00b9f7d8f', sha256: '5b4f1ccbee7458c784452a8f91c213bb3381d873158b58c7c53a8b8c6cc37439' },
  { layer: 162, commit: 'ba99b8b4665b69fe1d2c9fa90c3ece6c86df0210', sha256: '7f64fe3af92044159e1bad9c2db56238fe9788bb20c310f91f779d9360cf43fb' },
  { layer: 164, commit: '6a36066d19aa61979d4fb490b45d9a2403c6531d', sha256: '1c2f523a6e20b08a73bcb0782d2831459535d4573729bfb9df730fe429a7f4dd' },
  { layer: 166, commit: '046dbb58b8bb9c33bd6d7a3f7db33918b1bafbf1', sha256: '539238e704ac8d574d4c943d8b954846c061ec5360c4f09ed6edf0bc7cde1c1f' },
  { layer: 167, commit: '1ef66896bda804cdf89424296d1f6f2115272257', sha256: '4313c183fe2e60588dc1323061b46db2b105347501d9a5fb33032d2fe58ecfaa' },
  { layer: 169, commit: '1241671e722cb2e0f07364677bdddd8c0f9334d5', sha256: 'af77ecca722a36320c78d681dac9a9ccdfa2ba5282c0d7426619c6d866a4865e' },
  { layer: 170, commit: 'c445684be8405a81e79d6f7274fd6aaa5796488a', sha256: '8b65a10c0b08104a5e6db51a611e61bc23c6d57d13888de4c941bd251a180e3c' },
  { layer: 171, commit: '32a4cb82ce86117800f7e39f4525a785a00e8d21', sha256: '1f6f4c8d13f73d5649ebf26977e0d30503b477db6b95cde88661839c2ee666f8' },
  { layer: 172, commit: '6187ff7dcb1926ebf49e48e4e4d7fdfcb9c088c9', sha256: 'fbaa11d3539fd1f369fb788b89b3e7ff55cf25f5bcc6a9822d0da5f14fbd9433' },
  { layer: 173, commit: 'd76f3b75563daa240843382b1127d2a1fddc411e', sha256: 'e9fedcc9c68ac53e741e5ea9122fa99f7918d8931635a213217fd4c1e947f7da' },
  { layer: 176, commit: '47178dfaef64612de19a186d01d098abd0aa5d73', sha256: 'e447f36c77d29528496ba50bba150f93d90641232d01fbb0fe1d55ddf1eb29f7' },
  { layer: 178, commit: '10a6d16af6f8f862eaed3f711fad9104d329cc6e', sha256: '7a4c0f192ad4dd77a24614884fd716bcf680b683c45bd2b921af13369ebcf68a' },
  { layer: 183, commit: 'a5c98aec50891e973b1ae4f38b8c080444aae664', sha256: '2fe40c704d7e99cee6c66ba26009eb804559e4909d4ec6c26cee752c4ae35549' },
  { layer: 186, commit: '90f1e5b0733239ed18a0feb369dfd80d99b65088', sha256: '35167eaa90ebc3170311143745be0c43d5881c3bd3b94fe6dc99f3e80d5e3363' },
  { layer: 187, commit: 'd37b0f812f6b7099bf1a5ce908586545e477a9f1', sha256: '13e5ee643d6d776ab46f2cd1a21c9b274a4cb46106dea20770ebce90115e1e42' },
  { layer: 188, commit: '693c73ec1dc65365f1e3cf962251187c2ab5804c', sha256: '89808bbed6042add7f7ed5bf49c07086c6e4b17e38744a4653d30865ab7eb3da' },
  { layer: 189, commit: 'a0e42c1eb7b884c2247cf845bc2acbf545563f50', sha256: '274a71c5b60947275de376cce5cecb0a907181439ae6d53c54f4a0331c66be75' },
  { layer: 190, commit: '8138be250329224a7b9d3b8223b22c1c89897040', sha256: 'c11f249c649c94dceb1f98240ae67b6ada880367eb6f94805c66b69ff1237848' },
];

const TDLIB_REPOSITORY = 'https://github.com/tdlib/td';
const TDLIB_PATH = 'td/generate/scheme/telegram_api.tl';
const TDLIB_VERSION_PATH = 'td/telegram/Version.h';

/**
 * Layers newer than every gramjs release and Telethon's last (190), which current clients speak
 * (mtcute 0.30 sends 227, TDLib-based apps theirs): TDLib's telegram_api.tl at its "Update layer
 * to N." commits, filed under the MTPROTO_LAYER its Version.h declares at that commit (the commit
 * named "Update layer to 210." declares 211). TDLib's file opens with a prologue of its own
 * (built-in types, the config-simple types, two legacy file locations, test methods and the
 * invokeWith...Prefix pseudo-types); the layer is the text from its `---types---` line on, plus
 * the prologue's boolFalse, boolTrue, true and error, plus `null#56730bcc = Null;`, which every
 * other source has and TDLib leaves out. With that rule TDLib's copies of layers 184, 190 and 198
 * define exactly the sets the gramjs and Telethon copies do (TDLIB_CROSS_CHECKS).
 */
const TDLIB_SOURCES: GitSource[] = [
  { layer: 199, commit: 'ce17020f661c42c3e149ecde655ddfe85e849949', sha256: 'f9d1c5dd9728e4aa28e8ecfec55d5e1f279ff99a5d384028fccbbff8425b1c37' },
  { layer: 200, commit: 'f5462e3d92628c80bc5327def7c1328eb4143449', sha256: '5fd4ac22738b597bd256aebcd39e1d3ffd2e156cfee0c66549b782ebf899f8f9' },
  { layer: 201, commit: 'ca8525d322ae6b43b994ac2c6f0e10fdc44d2673', sha256: 'dcad00ce2accc5dfe2c1d739a9b722f432bb80663416f5466ca51d3137144cd1' },
  { layer: 202, commit: '0ad4672586a1ee3ea916d0a6f1bd5c72c59ea89f', sha256: '0c256cbebd95bea87c6b4d75ed2b56e89a0c43d790fe014b50550edd746be866' },
  { layer: 203, commit: 'cdf35d3733dedd20b0859172e0dd007e807d5ec5', sha256: '45e7157ba4835a49559a97b88d5879c4522c61b0d13a7c30c00f7a68926de1a7' },
  { layer: 204, commit: '8743b9c219eb23df23ffe108d00bb75e745e70e8', sha256: 'e39e4ec7b5e23a972775fa0a92cadfe44aaed3e8522735b085939a10c10f81ec' },
  { layer: 205, commit: '695d2f2ded30ac629928acabe699adf5215db2c5', sha256: '94f28414800f5b1a6616e0c16be8112c4f59f912de5229cb3798be3bc648cd04' },
  { layer: 206, commit: '3d22a8ec0a04a2248036d411489e638a742b21ca', sha256: 'cc15259faffa06c4cfd25704f68eeb0b9a987054133213ce059ebb1722a2cd9f' },
  { layer: 207, commit: '51684adb7ce324e5c7fd69f00d4043cb7a0aa6f7', sha256: 'cb659856e0361294f6dba49f568d5a7bd368bd164531b781b992bd3c837725e3' },
  { layer: 208, commit: '4f2b299d120e485bb7c97dc46141cabbf5a7e1c4', sha256: '3d45049feac83efdc6155ea9ea13721f427123172f931e834c377219b1b9836e' },
  { layer: 211, commit: '05eeb8df256464327d3100cc4776608c6676b269', sha256: '5078868f9a408fa129609f345f75bbf9564b38cb4590508c25c65facc6896eaf' },
  { layer: 212, commit: '5107dfa8f8bae4d696f04c4bb507d15450af67f6', sha256: '75d6f6d5472c3f3b4d0d781b006c884785a2c06099c36df5fcd03e36f032c2f1' },
  { layer: 214, commit: '9581c743097ae9e7ccfde21bd800230a2b404a9f', sha256: 'f705ab5a06ff8db7bc5b67659df71632fa61a141104c2cae53ddaa2df16fac81' },
  { layer: 216, commit: '948de0062bcfba793e8050018f36136fa1978ad3', sha256: 'd6b2d178cff859332f2ba8f018c6ffb92162f53bda573d2fd457593462f8f8f6' },
  { layer: 217, commit: '9cbccaf3cf0ed456a723463c305cc58dd7653fa1', sha256: '1ed022fa4fa0b92427239e620cc59e925cf85d9c9e6bfedf36119f3aff613193' },
  { layer: 218, commit: '93c9734e90926b4d405386085876f3b19af7f0e1', sha256: '50cb93625845125d5926c0a55e6d204fbdd3a07cbb69c8453f44e0930b1d0d33' },
  { layer: 220, commit: '3416b288129cb289c60b2157621d88058c1a5b9a', sha256: 'e9896f5ebc8a147ee612baa8d3513aa4444bedaf5cd8642e4ee3530e829d1a73' },
  { layer: 221, commit: 'cfacc913c4db0a424b4db196498e54bb56d3775a', sha256: '8b06e0af29dcf9bcb841f213b3ac945ea678159ee3a3f7379abae5caa88694df' },
  { layer: 222, commit: 'd6ca5cc0d0a049b524625def29668cd0c92ca0ed', sha256: '1cf619a9c35f2900c4441dec31ddec5ad75d9701459595630536ffedf90757e4' },
  { layer: 223, commit: '8b005a6ec7277728c506553162e2e3aafe29fc2f', sha256: 'a1cb9dd036f150b2b1d5000d5dd6ff07e3a7a1c2ecb37304eb81501712c1ac51' },
  { layer: 224, commit: '6f8eb8e89998c7b5a44777acefda24734c2ed486', sha256: 'b37b527d87d3cacc043826dd7732197d30a63d852de39c3e27c6a067e26cb827' },
  { layer: 225, commit: '7e3361e5a4bd477c52fbf9501381a2009f2a9dff', sha256: '6ea33fd3dab8b7144a4de659ae8e521f4750fad10770fc4106b7104338314975' },
  { layer: 227, commit: '5aec5b120e995340f588f175c9e3720a390d608e', sha256: 'eb841074c076c62effa1ef01523da9d9d8157430b7276e849a8e0ce7f4f71bf9' },
  { layer: 228, commit: 'b768eb2911f494c0678f4a4ff2c4a0529cb3cc6e', sha256: '921a58e71f2baebb840609366c506fb92ffac8db3c5bb832423aacd7cd6817cf' },
];

const TDESKTOP_REPOSITORY = 'https://github.com/telegramdesktop/tdesktop';
const TDESKTOP_PATH = 'Telegram/SourceFiles/mtproto/scheme/api.tl';

/**
 * Layers no source above has, which some clients announce (Telegram Desktop's own builds among
 * them): Telegram Desktop's api.tl at the last commit whose `// LAYER N` line says N, before its
 * first of N+1. It updates its copy many times within a layer, as Telegram develops it; its last
 * copy of a layer is what it shipped. Read so, its copies of every layer from 167 to 214 that
 * another source has define the same set (a few checked on every run: TDESKTOP_CROSS_CHECKS),
 * but for 198, 201 and 205, where they differ by one or two lines (fields Telegram changed in
 * place). Its history before 167 keeps the file elsewhere, and its snapshot here ends at 214.
 */
const TDESKTOP_SOURCES: GitSource[] = [
  { layer: 168, commit: '60e72768e19a85c3ba535fb2ed09f15b9b5c9127', sha256: 'bde3d113a68a00b9b563aa7f49f5a09aa57adcf45e364f6949be266555c91907' },
  { layer: 175, commit: '0c991466f5b1918178d0d878af6b86050b997b7b', sha256: 'aa523bc5adf3ee975e45e95902851e93f7ff96e23e7ae3b829eb29fd06a93937' },
  { layer: 180, commit: '5bfbae3afc9c666823d0589911e24aec35281247', sha256: '195d7da7e247fd5844e9e3a644ae98cda0c44f5c3c4a69753f7de59e79993d7e' },
  { layer: 182, commit: 'fbbcc21198fb73138d3ac1dcd782526fa803ba48', sha256: 'e640c56daa413a55e2cdea8ae75746bcf32aa6326d5baf48936d8c86548a594e' },
  { layer: 185, commit: '5c797d1f316f7e9cca5a3a18f7b9712b22c9df3f', sha256: 'c488cd16de64bea5e744d4a0954cfdec14947c71bcf21084f281bf062b23a173' },
  { layer: 191, commit: 'f2a92c9122805991855c8da8a83658e3c80db489', sha256: '411041b7e6e1f5aa8087d05134305e9da7b832f6642d350a60c998af170f0648' },
  { layer: 192, commit: 'b9ebb02e72a5e3f4ae403ee3fe832033e1c347ce', sha256: '8de881afe6424446c01b781ba56351db3ae6853674140329dcea4bcf17bded31' },
  { layer: 195, commit: '51ddfbc340b5006362653bf1b2b5484be2ee06af', sha256: 'a2228b646b7d44dd8aedbf3e4c22749697bd16bf628aca14fb1031cee656e9f6' },
  { layer: 196, commit: '6ddf241293c48f1efe19070fb086db278b538f8a', sha256: '85572a379b8d07b2713026487070b7254aca403b7c3264de7a231f815208cdc5' },
  { layer: 197, commit: 'ba34d92cd3fdb70ccef677dd2c7b39c43294bbb9', sha256: '1102e379a687262155f7b09046d9aaf58ae9ffd5ac732694554ad045d57fa0d1' },
  { layer: 209, commit: '1c41e01f0d9e359b58b1e57e594cff4f24eaccfe', sha256: '0898f4a6aaf19eef901911067282b1fd1b5359e884ab9f7bb4f559d35e2bc33a' },
  { layer: 210, commit: '9b990728f64f142f7ca3ce8e45c147c1680f0733', sha256: '57528b0241145928bbdefee72285449c239e1e25d1cd3d7e8750419ab08e1eaa' },
  { layer: 213, commit: '0e43fd4d00ec6aed1a84304797ddbb358b2d7dfb', sha256: '9059cecaecb05260f2726723d2ba071285dac57d30b186f7d24030f6504b9195' },
];

/** Telegram Desktop's last commits of layers other sources have, read only to compare. */
const TDESKTOP_CROSS_CHECKS: Array<{ layer: number; commit: string }> = [
  { layer: 184, commit: 'c6e1cf639e16249ab811b153b8e956740403851a' },
  { layer: 204, commit: 'fdce4bada78e1a11a119b0d8f67a2faf1982dde2' },
  { layer: 214, commit: 'd51944e6a5fa42cfaddbf948fe3777e1b226f6e5' },
];

/**
 * TDLib commits of layers the other sources have, read only to compare (the rule above). Telegram
 * sometimes adds a `flags.N?true` field to a layer after publishing it (such fields are not in the
 * constructor id), and TDLib then updates its copy in place; the others copied a layer once. So
 * the comparison is with TDLib's first commit of each layer.
 */
const TDLIB_CROSS_CHECKS: Array<{ layer: number; commit: string }> = [
  { layer: 184, commit: 'f39b10d8ef53587f1406a263a147ba5520f9149e' },
  { layer: 190, commit: '73464c717ed08f8dd9a618b42f9749f4b64fe76a' }, // its first "Update layer to 190.": Telethon's copy; the second (9c8dc358b) adds allow_paid_floodskip flags, as Telegram did in place
  { layer: 198, commit: '943cfa6c4e5a131ed7df9406fa51fba985dc191c' }, // likewise its first; the second (154c2eaf1) adds webPage's video_cover_photo flag
];

/**
 * Telethon commits of layers gramjs has too, read only to compare: the two projects' copies of a
 * layer must define the same set (their texts differ in comments and order).
 */
const TELETHON_CROSS_CHECKS: Array<{ layer: number; commit: string }> = [
  { layer: 143, commit: '06682090' },
  { layer: 148, commit: 'fb43f638' },
  { layer: 150, commit: '7288c993' },
  { layer: 152, commit: '6dece6e8' },
  { layer: 158, commit: '9aad453e' },
  { layer: 160, commit: '75ed58ad' },
  { layer: 165, commit: '7d7dbdf4' },
  { layer: 174, commit: '319db57c' },
  { layer: 177, commit: '723fbd57' },
  { layer: 181, commit: 'b3e210a1' },
  { layer: 184, commit: '087191e9' },
];

const OUTPUT = new URL('../src/connectors/mtproto/tl/api-layers.json', import.meta.url);

interface LayerText {
  layer: number;
  /** Where the text came from, as api-layers.json names it. */
  origin: { package: string; file: string; note?: string };
  types: string[];
  functions: string[];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `module.exports = \`...\`;` -> the text. Refuses anything a template literal would transform. */
function schemaTextOf(moduleSource: string, what: string): string {
  // Some releases end with a `//# sourceMappingURL=` comment after the statement.
  const m = /module\.exports\s*=\s*`([^`]*)`\s*;?((?:\s*\/\/[^\n]*)*)\s*$/.exec(moduleSource);
  if (!m) throw new Error(`${what}: not a module exporting one template string`);
  const text = m[1]!;
  if (text.includes('\\') || text.includes('${')) throw new Error(`${what}: escapes or substitutions in the schema text`);
  return text.replace(/\r/g, '');
}

function fetchLayer(source: Source, dir: string): string {
  const spec = `telegram@${source.version}`;
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', dir, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const tgz = join(dir, out);
  const read = (file: string): string => execFileSync('tar', ['-xzOf', tgz, `package/${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const text = schemaTextOf(read('tl/apiTl.js'), spec);
  const constant = /exports\.LAYER\s*=\s*(\d+)/.exec(read('tl/AllTLObjects.js'));
  const declared = constant ? Number(constant[1]) : NaN;
  if (declared !== (source.layerConstant ?? source.layer)) {
    throw new Error(`${spec} says LAYER = ${declared}, filed under ${source.layer} (layerConstant ${source.layerConstant ?? 'unset'})`);
  }
  const digest = sha256(text);
  if (source.sha256 === '') console.log(`${spec}: record sha256 '${digest}'`);
  else if (digest !== source.sha256) throw new Error(`${spec}: schema text sha256 ${digest}, expected ${source.sha256}`);
  return text;
}

/** A clone of `repository`: the one `--<flag> DIR` names, else a blob-less clone into `dir`. */
function gitClone(flag: string, repository: string, dir: string): string {
  const at = process.argv.indexOf(`--${flag}`);
  if (at > 0) {
    const given = process.argv[at + 1];
    if (!given) throw new Error(`--${flag} needs a directory`);
    return given;
  }
  const clone = join(dir, `${flag}.git`);
  execFileSync('git', ['clone', '--quiet', '--bare', '--filter=blob:none', repository, clone], { stdio: 'inherit' });
  return clone;
}

const gitShow = (clone: string, commit: string, path: string): string =>
  execFileSync('git', ['-C', clone, 'show', `${commit}:${path}`], { encoding: 'utf8', maxBuffer: 64 << 20 }).replace(/\r/g, '');

/** TDLib's telegram_api.tl at one commit as a layer's text (the rule at TDLIB_SOURCES), checked: its Version.h layer, and its SHA-256 where pinned. */
function tdlibText(clone: string, layer: number, commit: string, pinned?: string): string {
  const text = gitShow(clone, commit, TDLIB_PATH);
  const declared = /MTPROTO_LAYER\s*=\s*(\d+)/.exec(gitShow(clone, commit, TDLIB_VERSION_PATH));
  if (Number(declared?.[1]) !== layer) throw new Error(`TDLib ${commit}: Version.h says MTPROTO_LAYER ${declared?.[1]}, filed under ${layer}`);
  if (pinned !== undefined) {
    const digest = sha256(text);
    if (pinned === '') console.log(`TDLib ${commit} (layer ${layer}): record sha256 '${digest}'`);
    else if (digest !== pinned) throw new Error(`TDLib ${commit}: schema text sha256 ${digest}, expected ${pinned}`);
  }
  const start = text.indexOf('\n---types---\n');
  if (start < 0) throw new Error(`TDLib ${commit}: no ---types--- line`);
  const kept = text.slice(0, start).split('\n').filter((line) => /^(boolFalse|boolTrue|true|error)#/.test(line));
  if (kept.length !== 4) throw new Error(`TDLib ${commit}: the prologue lacks one of boolFalse, boolTrue, true, error`);
  return [...kept, 'null#56730bcc = Null;', text.slice(start + 1)].join('\n');
}

/** A schema file with a `// LAYER N` line (Telethon's api.tl, Telegram Desktop's) at one commit, checked: that line, and its SHA-256 where pinned. */
function layerFileText(who: string, clone: string, path: string, layer: number, commit: string, pinned?: string): string {
  const text = gitShow(clone, commit, path);
  const declared = /\/\/ LAYER (\d+)/.exec(text);
  if (Number(declared?.[1]) !== layer) throw new Error(`${who} ${commit}: says LAYER ${declared?.[1]}, filed under ${layer}`);
  if (pinned !== undefined) {
    const digest = sha256(text);
    if (pinned === '') console.log(`${who} ${commit} (layer ${layer}): record sha256 '${digest}'`);
    else if (digest !== pinned) throw new Error(`${who} ${commit}: schema text sha256 ${digest}, expected ${pinned}`);
  }
  return text;
}

/** The definition lines of one api.tl text, split into types and functions, checked. */
function definitionsOf(layer: number, origin: LayerText['origin'], text: string): LayerText {
  const types: string[] = [];
  const functions: string[] = [];
  const names = new Set<string>();
  const ids = new Set<number>();
  let isFunction = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\/\/.*$/, '').replace(/\s+/g, ' ').trim();
    if (!line) return;
    const section = /^---(\w+)---$/.exec(line);
    if (section) { isFunction = section[1] === 'functions'; return; }
    const c = parseTlDefinition(line, isFunction, i + 1);
    if (c === null) return;
    const where = `layer ${layer} line ${i + 1} (${c.name})`;
    if (c.computedId) throw new Error(`${where}: no explicit id`);
    if (computeConstructorId(line) !== c.id) throw new Error(`${where}: id does not match the CRC32 of the line`);
    if (names.has(c.name) || ids.has(c.id)) throw new Error(`${where}: duplicate name or id`);
    names.add(c.name);
    ids.add(c.id);
    (isFunction ? functions : types).push(line);
  });
  if (functions.length < 100 || types.length < 500) throw new Error(`layer ${layer}: only ${types.length} types, ${functions.length} functions`);
  return { layer, origin, types, functions };
}

/** Spans over the known layers: [140, 143, 145] of [138..198] -> "140-145". */
function spans(present: number[], known: number[]): string {
  const out: string[] = [];
  let start: number | undefined;
  let prev: number | undefined;
  for (const layer of known) {
    if (present.includes(layer)) {
      start ??= layer;
      prev = layer;
    } else if (start !== undefined) {
      out.push(start === prev ? String(start) : `${start}-${prev}`);
      start = undefined;
    }
  }
  if (start !== undefined) out.push(start === prev ? String(start) : `${start}-${prev}`);
  return out.join(',');
}

function render(layers: LayerText[]): string {
  const known = layers.map((l) => l.layer);
  const collect = (pick: (l: LayerText) => string[]): Array<[string, string]> => {
    const where = new Map<string, number[]>();
    for (const l of layers) for (const line of pick(l)) where.set(line, [...(where.get(line) ?? []), l.layer]);
    // Ordered by first layer, then by position in that layer's file: diffs stay small.
    return [...where].map(([line, in_]) => [line, spans(in_, known)]);
  };
  const meta = {
    about: 'Telegram API schema of several layers, generated by scripts/gen-mtproto-layers.ts from the tl/apiTl.js of npm releases of `telegram` (gramjs), for layers between them the api.tl of Telethon\'s history, for layers after both the telegram_api.tl of TDLib\'s history, and for layers none of those has the api.tl of Telegram Desktop\'s. Do not edit.',
    layers: known,
    sources: layers.map((l) => ({
      layer: l.layer,
      package: l.origin.package,
      file: l.origin.file,
      ...(l.origin.note ? { note: l.origin.note } : {}),
      definitions: l.types.length + l.functions.length,
      definitionSetSha256: definitionSetDigest([...l.types, ...l.functions]),
    })),
  };
  const list = (rows: Array<[string, string]>): string => rows.map((r) => '    ' + JSON.stringify(r)).join(',\n');
  const head = JSON.stringify(meta, null, 2).replace(/\n}$/, '');
  return `${head},\n  "types": [\n${list(collect((l) => l.types))}\n  ],\n  "functions": [\n${list(collect((l) => l.functions))}\n  ]\n}\n`;
}

function main(): void {
  const check = process.argv.includes('--check');
  const dir = mkdtempSync(join(tmpdir(), 'sb-tl-layers-'));
  try {
    const fromNpm = SOURCES.map((s) => definitionsOf(s.layer, { package: `telegram@${s.version}`, file: 'package/tl/apiTl.js', ...(s.note ? { note: s.note } : {}) }, fetchLayer(s, dir)));
    // Each history in turn: its layers, then its copies of layers the sources before it have,
    // which must define the same sets (two independent copies of Telegram's text).
    const histories: GitHistory[] = [
      { flag: 'telethon', repository: TELETHON_REPOSITORY, name: 'Telethon', path: TELETHON_PATH, sources: TELETHON_SOURCES, crossChecks: TELETHON_CROSS_CHECKS, text: (clone, layer, commit, pinned) => layerFileText('Telethon', clone, TELETHON_PATH, layer, commit, pinned) },
      { flag: 'tdlib', repository: TDLIB_REPOSITORY, name: 'TDLib', path: TDLIB_PATH, sources: TDLIB_SOURCES, crossChecks: TDLIB_CROSS_CHECKS, text: tdlibText },
      { flag: 'tdesktop', repository: TDESKTOP_REPOSITORY, name: 'Telegram Desktop', path: TDESKTOP_PATH, sources: TDESKTOP_SOURCES, crossChecks: TDESKTOP_CROSS_CHECKS, text: (clone, layer, commit, pinned) => layerFileText('Telegram Desktop', clone, TDESKTOP_PATH, layer, commit, pinned) },
    ];
    const fromGit: LayerText[] = [];
    for (const h of histories) {
      const clone = gitClone(h.flag, h.repository, dir);
      const origin = (commit: string) => ({ package: `github:${h.repository.replace('https://github.com/', '')}@${commit}`, file: h.path });
      const before = [...fromNpm, ...fromGit];
      fromGit.push(...h.sources.map((src) => definitionsOf(src.layer, origin(src.commit), h.text(clone, src.layer, src.commit, src.sha256))));
      for (const { layer, commit } of h.crossChecks) {
        const ours = before.find((l) => l.layer === layer);
        if (!ours) throw new Error(`cross-check of layer ${layer}: no source before ${h.name}`);
        const theirs = definitionsOf(layer, origin(commit), h.text(clone, layer, commit));
        if (definitionSetDigest([...ours.types, ...ours.functions]) !== definitionSetDigest([...theirs.types, ...theirs.functions])) {
          throw new Error(`layer ${layer}: ${ours.origin.package} and ${h.name} (${commit}) define different sets`);
        }
      }
    }
    const all = [...fromNpm, ...fromGit];
    if (new Set(all.map((l) => l.layer)).size !== all.length) throw new Error('a layer has two sources');
    const layers = all.sort((a, b) => a.layer - b.layer);
    const json = render(layers);
    if (check) {
      const same = readFileSync(OUTPUT, 'utf8') === json;
      console.log(same ? 'api-layers.json is up to date' : 'api-layers.json differs from what the sources give');
      process.exitCode = same ? 0 : 1;
      return;
    }
    writeFileSync(OUTPUT, json);
    console.log(`wrote ${OUTPUT.pathname}: ${layers.length} layers, ${json.length} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) main();
