"""Skeleton pixels → road graph (a :class:`networkx.MultiGraph` in pixel space).

Rules:

* pixel coordinates are int64 (no int16 overflow on large rasters);
* 8-neighbour links, except a diagonal link between two pixels that share a
  4-neighbour in the skeleton (a staircase corner, not a junction): this removes
  the spurious 3-cycles of 8-connected skeletons while keeping connectivity;
* a pixel's degree is its number of links; degree 1 = end point, 0 = isolated
  pixel, ≥ 3 = junction pixel. Adjacent junction pixels form one *junction
  cluster*, which becomes one node at the cluster centroid;
* chains of degree-2 pixels between nodes become edges; a chain that closes on
  itself with no node (a pure ring) becomes one closed edge (self-loop) on a node
  placed at its first pixel; self-loops through a junction and parallel edges
  are kept (hence a MultiGraph);
* every edge keeps its full pixel path (``path``: int64 ``(k, 2)`` rows/cols,
  from the node pixel at ``start`` to the node pixel at ``end``), the probability
  and distance-to-background at those pixels, and its geometry ``coords``
  (float ``(k, 2)`` rows/cols, first/last point = node positions).

Node attributes: ``pos`` (row, col float), ``border`` (the node touches the
raster border), ``ring`` (anchor of a pure ring). Edge attributes: ``start``,
``end`` (the nodes at ``coords[0]`` / ``coords[-1]``), ``coords``, ``path``,
``prob``, ``dist``, ``bridged``.

Why not skan / sknw: both need the dense whole-image skeleton (skan also builds
a pixel-level CSR graph of it), which breaks the block-wise memory bound, and
sknw stores coordinates as int16 in places and loses pure rings. The ordering of
chain pixels here uses :func:`scipy.sparse.csgraph.depth_first_order` and the
cluster labelling :func:`scipy.sparse.csgraph.connected_components`.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, depth_first_order

from roadseg.postprocess.skeleton import SkeletonPixels

# offsets: N, S, W, E, NW, NE, SW, SE
_OFFSETS = np.array(
    [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)], np.int64
)
# for each diagonal (index 4..7): indices of the two 4-neighbours it shares
_DIAG_SHARED = {4: (0, 2), 5: (0, 3), 6: (1, 2), 7: (1, 3)}


def _neighbours(sk: SkeletonPixels) -> np.ndarray:
    """(8, n) index of each pixel's neighbour in ``sk.flat`` or -1, after corner removal."""
    h, w = sk.shape
    flat = sk.flat
    n = flat.size
    rows, cols = flat // w, flat % w
    nb = np.full((8, n), -1, np.int64)
    for k, (dr, dc) in enumerate(_OFFSETS):
        ok = (rows + dr >= 0) & (rows + dr < h) & (cols + dc >= 0) & (cols + dc < w)
        target = flat + dr * w + dc
        idx = np.searchsorted(flat, target)
        idx_c = np.minimum(idx, max(n - 1, 0))
        found = ok & (idx < n) & (flat[idx_c] == target) if n else ok
        nb[k] = np.where(found, idx_c, -1)
    for k, (a, b) in _DIAG_SHARED.items():
        nb[k, (nb[a] >= 0) | (nb[b] >= 0)] = -1
    return nb


def skeleton_to_graph(
    skeleton: SkeletonPixels | np.ndarray,
    border_tolerance_px: int = 1,
) -> nx.MultiGraph:
    """Build the road graph of a skeleton (sparse :class:`SkeletonPixels` or a dense bool array).

    A node is ``border`` when one of its pixels lies within ``border_tolerance_px``
    of the raster edge (row or column index < tolerance from either end).
    """
    sk = skeleton if isinstance(skeleton, SkeletonPixels) else SkeletonPixels.from_array(skeleton)
    h, w = sk.shape
    n = len(sk)
    g = nx.MultiGraph()
    if n == 0:
        return g
    rows, cols = sk.rows, sk.cols
    rc = np.stack([rows, cols], axis=1)
    nb = _neighbours(sk)
    deg = (nb >= 0).sum(axis=0)
    on_border = (
        (rows < border_tolerance_px)
        | (rows >= h - border_tolerance_px)
        | (cols < border_tolerance_px)
        | (cols >= w - border_tolerance_px)
    )

    # links as (i, j) pairs, each once (i < j)
    src = np.repeat(np.arange(n, dtype=np.int64)[None, :], 8, axis=0).ravel()
    dst = nb.ravel()
    keep = dst > src
    li, lj = src[keep], dst[keep]

    # --- nodes: junction clusters, end points and isolated pixels
    is_chain = deg == 2
    is_junc = deg >= 3
    node_of = np.full(n, -1, np.int64)
    jidx = np.flatnonzero(is_junc)
    n_nodes = 0
    if jidx.size:
        jmap = np.full(n, -1, np.int64)
        jmap[jidx] = np.arange(jidx.size)
        jj = is_junc[li] & is_junc[lj]
        m = coo_matrix(
            (np.ones(int(jj.sum()), np.int8), (jmap[li[jj]], jmap[lj[jj]])),
            shape=(jidx.size, jidx.size),
        )
        nc, lab = connected_components(m, directed=False)
        node_of[jidx] = lab
        n_nodes = nc
    other = np.flatnonzero(deg <= 1)
    node_of[other] = n_nodes + np.arange(other.size)
    n_nodes += other.size
    node_pix = np.flatnonzero(node_of >= 0)
    counts = np.bincount(node_of[node_pix], minlength=n_nodes).astype(np.float64)
    pos_r = np.bincount(node_of[node_pix], weights=rows[node_pix], minlength=n_nodes) / np.maximum(
        counts, 1
    )
    pos_c = np.bincount(node_of[node_pix], weights=cols[node_pix], minlength=n_nodes) / np.maximum(
        counts, 1
    )
    nborder = np.zeros(n_nodes, bool)
    np.logical_or.at(nborder, node_of[node_pix], on_border[node_pix])
    for k in range(n_nodes):
        g.add_node(k, pos=(float(pos_r[k]), float(pos_c[k])), border=bool(nborder[k]), ring=False)

    def add_edge(u: int, v: int, pix: np.ndarray) -> None:
        coords = rc[pix].astype(np.float64)
        coords[0] = g.nodes[u]["pos"]
        coords[-1] = g.nodes[v]["pos"]
        g.add_edge(
            u,
            v,
            start=u,
            end=v,
            coords=coords,
            path=rc[pix],
            prob=sk.prob[pix],
            dist=sk.dist[pix],
            bridged=False,
        )

    # --- direct links between pixels of two different nodes
    nn = (~is_chain[li]) & (~is_chain[lj]) & (node_of[li] != node_of[lj])
    for a, b in zip(li[nn].tolist(), lj[nn].tolist()):
        add_edge(int(node_of[a]), int(node_of[b]), np.array([a, b]))

    # --- chains of degree-2 pixels, ordered by one depth-first walk from a super-node
    cidx = np.flatnonzero(is_chain)
    if cidx.size:
        cmap = np.full(n, -1, np.int64)
        cmap[cidx] = np.arange(cidx.size)
        cc = is_chain[li] & is_chain[lj]
        a, b = cmap[li[cc]], cmap[lj[cc]]
        nchain = cidx.size
        m = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(nchain, nchain))
        ncomp, lab = connected_components(m, directed=False)
        chain_deg = np.bincount(np.concatenate([a, b]), minlength=nchain)
        # start of each component: its smallest end pixel (chain_deg < 2), or its smallest pixel (ring)
        is_end = chain_deg < 2
        big = np.int64(nchain + 1)
        start_end = np.full(ncomp, big)
        np.minimum.at(start_end, lab[is_end], np.flatnonzero(is_end))
        start_any = np.full(ncomp, big)
        np.minimum.at(start_any, lab, np.arange(nchain))
        is_ring = start_end == big
        start = np.where(is_ring, start_any, start_end)
        sup = nchain
        a2 = np.concatenate([a, np.full(ncomp, sup)])
        b2 = np.concatenate([b, start])
        m2 = coo_matrix(
            (np.ones(a2.size, np.int8), (a2, b2)), shape=(nchain + 1, nchain + 1)
        ).tocsr()
        order, _ = depth_first_order(m2, sup, directed=False, return_predecessors=True)
        order = order[1:]
        olab = lab[order]
        cuts = np.flatnonzero(np.diff(olab)) + 1
        for seg in np.split(order, cuts):
            comp = int(lab[seg[0]])
            pix = cidx[seg]
            if is_ring[comp]:
                u = g.number_of_nodes()
                r0, c0 = rows[pix[0]], cols[pix[0]]
                g.add_node(u, pos=(float(r0), float(c0)), border=bool(on_border[pix[0]]), ring=True)
                add_edge(u, u, np.concatenate([pix, pix[:1]]))
                continue
            s, e = pix[0], pix[-1]
            ends = []
            for p in (s, e) if s != e else (s,):
                for k in range(8):
                    q = nb[k, p]
                    if q >= 0 and not is_chain[q]:
                        ends.append(int(q))
            if len(ends) != 2:  # cannot happen for a degree-2 chain that is not a ring
                raise RuntimeError(f"chain with {len(ends)} node neighbours")
            u, v = int(node_of[ends[0]]), int(node_of[ends[1]])
            add_edge(u, v, np.concatenate([[ends[0]], pix, [ends[1]]]))
    return g
