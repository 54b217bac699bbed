"""Skeleton pixels → road graph (a :class:`networkx.MultiGraph` in pixel space).

Rules:

* pixel coordinates are int64 (no int16 overflow on large rasters);
* 8-neighbour links, except a diagonal link between two pixels that share a
  4-neighbour in the skeleton (a staircase corner, not a junction): this removes
  the spurious 3-cycles of 8-connected skeletons while keeping connectivity;
* a pixel's degree is its number of links; degree 1 = end point, 0 = isolated
  pixel, ≥ 3 = junction pixel; pixels of a full 2×2 block count as junction pixels
  (no thin chain runs through a block). Adjacent junction pixels form one *junction
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

from dataclasses import dataclass

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


def _neighbours(sk: SkeletonPixels) -> tuple[np.ndarray, np.ndarray]:
    """(8, n) index of each pixel's neighbour in ``sk.flat`` or -1, after corner removal,
    and which pixels lie in a full 2x2 block.

    Indices are int32 while the skeleton has fewer than 2**31 pixels (memory: the
    pixel *coordinates* stay int64).
    """
    h, w = sk.shape
    flat = sk.flat
    n = flat.size
    itype = np.int32 if n < 2**31 - 1 else np.int64
    rows, cols = flat // w, flat % w
    nb = np.full((8, n), -1, itype)
    kof = {(int(dr), int(dc)): k for k, (dr, dc) in enumerate(_OFFSETS)}
    ar = np.arange(n, dtype=np.int64)
    col_ok = {-1: cols >= 1, 0: None, 1: cols < w - 1}
    for dr in (-1, 0, 1):
        row_ok = (rows + dr >= 0) & (rows + dr < h)
        # the neighbours in row r + dr are at consecutive indices from the first flat
        # index >= the left candidate (``flat`` is sorted and unique); same row: i ± 1
        base = ar if dr == 0 else np.searchsorted(flat, flat + (dr * w - 1))
        for dc in (-1, 0, 1):
            if dr == 0 and dc == 0:
                continue
            target = flat + (dr * w + dc)
            found = np.zeros(n, bool)
            pos = np.full(n, -1, np.int64)
            offsets = (dc,) if dr == 0 else range(dc + 2)
            for j in offsets:
                idx = np.clip(base + j, 0, n - 1)
                hit = (flat[idx] == target) & ~found
                pos[hit] = idx[hit]
                found |= hit
            found &= row_ok
            if col_ok[dc] is not None:
                found &= col_ok[dc]
            nb[kof[(dr, dc)]][found] = pos[found]
    # pixels of a full 2x2 block: no thin chain runs through them, they belong to a junction
    k_e, k_s, k_se = kof[(0, 1)], kof[(1, 0)], kof[(1, 1)]
    tl = (nb[k_e] >= 0) & (nb[k_s] >= 0) & (nb[k_se] >= 0)
    in_block = tl.copy()
    for k in (k_e, k_s, k_se):
        in_block[nb[k][tl]] = True
    for k, (a, b) in _DIAG_SHARED.items():
        nb[k, (nb[a] >= 0) | (nb[b] >= 0)] = -1
    return nb, in_block


@dataclass
class _Topology:
    """Per skeleton pixel: position, degree class, border flag, and the links between pixels."""

    sk: SkeletonPixels
    rc: np.ndarray  # (n, 2) int64 row, col
    on_border: np.ndarray
    is_chain: np.ndarray  # degree 2
    deg: np.ndarray
    li: np.ndarray  # links (li[k], lj[k]), each once with li < lj
    lj: np.ndarray
    first_nb: np.ndarray  # for a chain pixel touching a node: its first node neighbour ...
    second_nb: np.ndarray  # ... and its second one (or -1)

    @property
    def itype(self) -> np.dtype:
        return self.li.dtype


@dataclass
class _Nodes:
    """The node of each pixel (or -1) and the node positions (cluster centroids)."""

    node_of: np.ndarray
    pos_r: np.ndarray
    pos_c: np.ndarray


def skeleton_to_graph(
    skeleton: SkeletonPixels | np.ndarray,
    border_tolerance_px: int = 1,
) -> nx.MultiGraph:
    """Build the road graph of a skeleton (sparse :class:`SkeletonPixels` or a dense bool array).

    A node is ``border`` when one of its pixels lies within ``border_tolerance_px``
    of the raster edge (row or column index < tolerance from either end).

    Steps: pixel topology (degrees, links) -> nodes (junction clusters, end points)
    -> direct node-to-node links -> chains of degree-2 pixels in walking order ->
    pure rings -> the other chains as edges.
    """
    sk = skeleton if isinstance(skeleton, SkeletonPixels) else SkeletonPixels.from_array(skeleton)
    g = nx.MultiGraph()
    if len(sk) == 0:
        return g
    t = _topology(sk, border_tolerance_px)
    nodes = _add_nodes(g, t)
    _add_direct_links(g, t, nodes)
    if t.is_chain.any():
        pix_order, starts, stops, ring_seg = _order_chains(t)
        _add_rings(g, t, pix_order, starts[ring_seg], stops[ring_seg])
        _add_chains(g, t, nodes, pix_order, starts, stops, ring_seg)
    return g


def _topology(sk: SkeletonPixels, border_tolerance_px: int) -> _Topology:
    h, w = sk.shape
    n = len(sk)
    rc = np.empty((n, 2), np.int64)
    rc[:, 0], rc[:, 1] = np.divmod(sk.flat, w)
    rows, cols = rc[:, 0], rc[:, 1]
    nb, in_block = _neighbours(sk)
    it = nb.dtype  # int32 indices (int64 only for > 2**31 skeleton pixels)
    deg = (nb >= 0).sum(axis=0).astype(np.int8)
    deg[in_block & (deg < 3)] = 3  # 2x2 blocks are junction pixels
    on_border = (
        (rows < border_tolerance_px)
        | (rows >= h - border_tolerance_px)
        | (cols < border_tolerance_px)
        | (cols >= w - border_tolerance_px)
    )
    is_chain = deg == 2
    # links as (i, j) pairs, each once (i < j)
    ar = np.arange(n, dtype=it)
    li = np.concatenate([ar[nb[k] > ar] for k in range(8)])
    lj = np.concatenate([nb[k][nb[k] > ar] for k in range(8)])
    del ar
    first_nb, second_nb = _chain_end_neighbours(nb, is_chain)
    return _Topology(sk, rc, on_border, is_chain, deg, li, lj, first_nb, second_nb)


def _chain_end_neighbours(nb: np.ndarray, is_chain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Node neighbours of the chain pixels touching a node (the chain ends): first and second."""
    n = is_chain.size
    ends_at = np.flatnonzero(is_chain)
    nbe = nb[:, ends_at]
    is_node_nb = (nbe >= 0) & ~is_chain[np.where(nbe >= 0, nbe, 0)]
    touch = is_node_nb.any(axis=0)
    ends_at, nbe, is_node_nb = ends_at[touch], nbe[:, touch], is_node_nb[:, touch]
    cnt = is_node_nb.sum(axis=0)
    k_ = np.arange(ends_at.size)
    first_nb = np.full(n, -1, nb.dtype)
    second_nb = np.full(n, -1, nb.dtype)
    first_nb[ends_at] = nbe[np.argmax(is_node_nb, axis=0), k_]
    second_nb[ends_at] = np.where(cnt >= 2, nbe[7 - np.argmax(is_node_nb[::-1], axis=0), k_], -1)
    return first_nb, second_nb


def _add_nodes(g: nx.MultiGraph, t: _Topology) -> _Nodes:
    """Nodes: junction clusters (connected junction pixels), end points and isolated pixels."""
    n, it = t.deg.size, t.itype
    node_of = np.full(n, -1, it)
    jidx = np.flatnonzero(t.deg >= 3)
    n_nodes = 0
    if jidx.size:
        is_junc = t.deg >= 3
        jmap = np.full(n, -1, it)
        jmap[jidx] = np.arange(jidx.size)
        jj = is_junc[t.li] & is_junc[t.lj]
        m = coo_matrix(
            (np.ones(int(jj.sum()), np.int8), (jmap[t.li[jj]], jmap[t.lj[jj]])),
            shape=(jidx.size, jidx.size),
        )
        nc, lab = connected_components(m, directed=False)
        node_of[jidx] = lab
        n_nodes = nc
    other = np.flatnonzero(t.deg <= 1)
    node_of[other] = n_nodes + np.arange(other.size)
    n_nodes += other.size
    node_pix = np.flatnonzero(node_of >= 0)
    nid = node_of[node_pix]
    counts = np.maximum(np.bincount(nid, minlength=n_nodes), 1).astype(np.float64)
    pos_r = np.bincount(nid, weights=t.rc[node_pix, 0], minlength=n_nodes) / counts
    pos_c = np.bincount(nid, weights=t.rc[node_pix, 1], minlength=n_nodes) / counts
    nborder = np.bincount(nid, weights=t.on_border[node_pix], minlength=n_nodes) > 0
    for k in range(n_nodes):
        g.add_node(k, pos=(float(pos_r[k]), float(pos_c[k])), border=bool(nborder[k]), ring=False)
    return _Nodes(node_of, pos_r, pos_c)


def _add_edge(g: nx.MultiGraph, t: _Topology, u: int, v: int, pix: np.ndarray) -> None:
    """One edge along skeleton pixels ``pix``, its ends moved onto the node positions."""
    coords = t.rc[pix].astype(np.float64)
    coords[0] = g.nodes[u]["pos"]
    coords[-1] = g.nodes[v]["pos"]
    g.add_edge(
        u,
        v,
        start=u,
        end=v,
        coords=coords,
        path=t.rc[pix],
        prob=t.sk.prob[pix],
        dist=t.sk.dist[pix],
        bridged=False,
    )


def _add_direct_links(g: nx.MultiGraph, t: _Topology, nodes: _Nodes) -> None:
    """Edges for links between pixels of two different nodes (no chain between them)."""
    li, lj, node_of = t.li, t.lj, nodes.node_of
    nn = (~t.is_chain[li]) & (~t.is_chain[lj]) & (node_of[li] != node_of[lj])
    for a, b in zip(li[nn].tolist(), lj[nn].tolist()):
        _add_edge(g, t, int(node_of[a]), int(node_of[b]), np.array([a, b]))


def _order_chains(t: _Topology) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Chains of degree-2 pixels in walking order: one depth-first walk from a super-node
    linked to each chain's start (its smallest end pixel, or its smallest pixel for a ring).

    Returns the chain pixels chain after chain, each chain's ``[start, stop)`` in that
    order, and which chains are pure rings.
    """
    n, it = t.deg.size, t.itype
    cidx = np.flatnonzero(t.is_chain)
    nchain = cidx.size
    cmap = np.full(n, -1, it)
    cmap[cidx] = np.arange(nchain)
    cc = t.is_chain[t.li] & t.is_chain[t.lj]
    a, b = cmap[t.li[cc]], cmap[t.lj[cc]]
    del cmap, cc
    m = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(nchain, nchain))
    ncomp, lab = connected_components(m, directed=False)
    del m
    chain_deg = np.bincount(a, minlength=nchain) + np.bincount(b, minlength=nchain)
    # the first occurrence in index order is the smallest index
    big = np.int64(nchain + 1)
    end_idx = np.flatnonzero(chain_deg < 2)
    start_end = np.full(ncomp, big)
    ul, first = np.unique(lab[end_idx], return_index=True)
    start_end[ul] = end_idx[first]
    start_any = np.full(ncomp, big)
    ul, first = np.unique(lab, return_index=True)
    start_any[ul] = first
    is_ring = start_end == big
    start = np.where(is_ring, start_any, start_end)
    sup = nchain
    m2 = coo_matrix(
        (
            np.ones(a.size + ncomp, np.int8),
            (
                np.concatenate([a, np.full(ncomp, sup, a.dtype)]),
                np.concatenate([b, start.astype(b.dtype)]),
            ),
        ),
        shape=(nchain + 1, nchain + 1),
    ).tocsr()
    del a, b, start
    order = depth_first_order(m2, sup, directed=False, return_predecessors=False)[1:]
    del m2
    cuts = np.flatnonzero(np.diff(lab[order])) + 1
    starts = np.concatenate([[0], cuts]).astype(np.int64)
    stops = np.concatenate([cuts, [order.size]]).astype(np.int64)
    ring_seg = is_ring[lab[order[starts]]]
    return cidx[order], starts, stops, ring_seg


def _add_rings(
    g: nx.MultiGraph, t: _Topology, pix_order: np.ndarray, starts: np.ndarray, stops: np.ndarray
) -> None:
    """Pure rings (rare): one node at the first pixel, one closed edge."""
    for a0, a1 in zip(starts.tolist(), stops.tolist()):
        pix = pix_order[a0:a1]
        u = g.number_of_nodes()
        g.add_node(
            u,
            pos=(float(t.rc[pix[0], 0]), float(t.rc[pix[0], 1])),
            border=bool(t.on_border[pix[0]]),
            ring=True,
        )
        _add_edge(g, t, u, u, np.concatenate([pix, pix[:1]]))


def _add_chains(
    g: nx.MultiGraph,
    t: _Topology,
    nodes: _Nodes,
    pix_order: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    ring_seg: np.ndarray,
) -> None:
    """The chains that are not rings, vectorised: path = [node pixel, chain pixels..., node pixel]."""
    st, sp = starts[~ring_seg], stops[~ring_seg]
    if not st.size:
        return
    s0, e0 = pix_order[st], pix_order[sp - 1]
    end0 = t.first_nb[s0].astype(np.int64)
    end1 = np.where(s0 == e0, t.second_nb[s0], t.first_nb[e0]).astype(np.int64)
    if (end0 < 0).any() or (end1 < 0).any():  # cannot happen for non-ring chains
        raise RuntimeError("chain end without a node neighbour")
    lens = sp - st
    out_start = np.concatenate([[0], np.cumsum(lens + 2)[:-1]])
    out_last = out_start + lens + 1
    total = int(lens.sum() + 2 * lens.size)
    full = np.empty(total, np.int64)
    full[out_start] = end0
    full[out_last] = end1
    inner = np.ones(total, bool)
    inner[out_start] = False
    inner[out_last] = False
    seg_id = np.repeat(np.arange(starts.size), stops - starts)
    full[inner] = pix_order[~ring_seg[seg_id]]  # non-ring chains, in order
    del inner, seg_id
    u_all = nodes.node_of[end0].astype(np.int64)
    v_all = nodes.node_of[end1].astype(np.int64)
    path_all = t.rc[full]
    coords_all = path_all.astype(np.float64)
    coords_all[out_start, 0], coords_all[out_start, 1] = nodes.pos_r[u_all], nodes.pos_c[u_all]
    coords_all[out_last, 0], coords_all[out_last, 1] = nodes.pos_r[v_all], nodes.pos_c[v_all]
    prob_all, dist_all = t.sk.prob[full], t.sk.dist[full]
    del full
    bounds = np.concatenate([out_start, [total]]).tolist()
    for i, (u, v) in enumerate(zip(u_all.tolist(), v_all.tolist())):
        lo, hi = bounds[i], bounds[i + 1]
        g.add_edge(
            u,
            v,
            start=u,
            end=v,
            coords=coords_all[lo:hi],
            path=path_all[lo:hi],
            prob=prob_all[lo:hi],
            dist=dist_all[lo:hi],
            bridged=False,
        )
