//! Redis's geohash arithmetic: a point is a 52-bit score, its longitude and latitude
//! each cut into 26 bits (latitude over the Web Mercator range, +-85.05112878) and
//! interleaved, longitude in the odd bits. A search covers its shape with the cell of
//! the centre and its 8 neighbours at a step (cell size) estimated from the radius,
//! then filters each candidate by the haversine distance on a sphere of Redis's radius.
//!
//! Every expression keeps Redis's order of floating-point operations, so results agree
//! with redis-server to the last bit (the trigonometry is the platform's libm, as
//! there).

/// Bits per coordinate of a stored point.
pub const STEP_MAX: u8 = 26;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Redis's Earth radius (the quadratic mean radius of WGS-84), in meters.
const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the circumference of Web Mercator, what the step estimation starts from.
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(deg: f64) -> f64 {
    deg * D_R
}

fn rad_deg(rad: f64) -> f64 {
    rad / D_R
}

/// An interval of one coordinate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges points are stored in: (longitude, latitude).
pub const GEO_RANGES: (Range, Range) = (Range { min: LONG_MIN, max: LONG_MAX }, Range { min: LAT_MIN, max: LAT_MAX });

/// A cell: `step` bits per coordinate, interleaved into `bits`. The zero cell (no bits,
/// step 0) is a neighbour left out of a search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub bits: u64,
    pub step: u8,
}

/// The coordinates a cell covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub long: Range,
    pub lat: Range,
}

/// Spreads the 32 bits of `v` over the even bits of a word.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// The even bits of `v`, packed.
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0x0000_0000_FFFF_FFFF) as u32
}

/// Latitude bits in the even positions, longitude bits in the odd ones.
fn interleave(lat: u32, long: u32) -> u64 {
    spread(lat) | (spread(long) << 1)
}

/// (latitude bits, longitude bits).
fn deinterleave(bits: u64) -> (u32, u32) {
    (squash(bits), squash(bits >> 1))
}

/// The cell of `step` bits holding (long, lat) in the given ranges; None outside the
/// storable limits or the ranges.
pub fn encode(ranges: (Range, Range), long: f64, lat: f64, step: u8) -> Option<Cell> {
    let (long_r, lat_r) = ranges;
    if step == 0 || step > 32 || !(LONG_MIN..=LONG_MAX).contains(&long) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || long < long_r.min || long > long_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let long_offset = (long - long_r.min) / (long_r.max - long_r.min) * scale;
    Some(Cell { bits: interleave(lat_offset as u32, long_offset as u32), step })
}

/// The area a cell covers in the given ranges.
pub fn decode(ranges: (Range, Range), cell: Cell) -> Area {
    let (long_r, lat_r) = ranges;
    let (ilat, ilong) = deinterleave(cell.bits);
    let scale = (1u64 << cell.step) as f64;
    let at = |r: Range, i: u32| r.min + (i as f64 / scale) * (r.max - r.min);
    // As in C, `i + 1` is 32-bit arithmetic.
    Area {
        long: Range { min: at(long_r, ilong), max: at(long_r, ilong.wrapping_add(1)) },
        lat: Range { min: at(lat_r, ilat), max: at(lat_r, ilat.wrapping_add(1)) },
    }
}

/// The centre of an area, clamped to the storable limits: (longitude, latitude).
pub fn center(area: Area) -> [f64; 2] {
    let long = ((area.long.min + area.long.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [long, lat]
}

/// A sorted-set score as the cell bits C's `(uint64_t)score` makes of it on x86-64
/// (negative scores wrap, those of 2^64 and up become 0).
pub fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if score < TWO_63 {
        score as i64 as u64
    } else if score - TWO_63 < TWO_63 {
        ((score - TWO_63) as i64 as u64) ^ (1 << 63)
    } else {
        0
    }
}

/// The score a point is stored with.
pub fn point_score(long: f64, lat: f64) -> Option<f64> {
    encode(GEO_RANGES, long, lat, STEP_MAX).map(|c| align52(c) as f64)
}

/// The (longitude, latitude) a stored score stands for.
pub fn score_point(score: f64) -> [f64; 2] {
    center(decode(GEO_RANGES, Cell { bits: score_bits(score), step: STEP_MAX }))
}

/// A cell's bits shifted to the 52-bit score scale: the lowest score inside it.
pub fn align52(cell: Cell) -> u64 {
    cell.bits << (52 - 2 * cell.step as u32)
}

/// The standard 11-character base32 geohash of a stored score (latitude over -90..90).
pub fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [long, lat] = score_point(score);
    let standard = (Range { min: -180.0, max: 180.0 }, Range { min: -90.0, max: 90.0 });
    let bits = encode(standard, long, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut text = [b'0'; 11];
    // 52 bits make 10 characters; the 11th is the zero Redis appends.
    for (i, c) in text.iter_mut().take(10).enumerate() {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    text
}

// ---------------------------------------------------------------- distances

/// Distance along a meridian between two latitudes, in meters.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle (haversine) distance in meters.
pub fn distance(long1: f64, lat1: f64, long2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(long2) - deg_rad(long1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

// ---------------------------------------------------------------- search areas

/// What a search covers, in the units of its request: a circle of a radius, or a box
/// of a width (east-west) and height, both around the centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search: centre (longitude, latitude), shape, and the meters in one of its units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Search {
    pub center: [f64; 2],
    pub shape: Shape,
    pub to_meters: f64,
}

impl Search {
    /// The distance (in meters) from the centre of a point inside the shape, None
    /// outside.
    pub fn distance_if_within(&self, long: f64, lat: f64) -> Option<f64> {
        let [clong, clat] = self.center;
        match self.shape {
            Shape::Radius(r) => {
                // Not `d <= r`: a NaN distance (nearly antipodal points) is inside, as
                // in Redis.
                let d = distance(clong, clat, long, lat);
                match d.partial_cmp(&(r * self.to_meters)) {
                    Some(std::cmp::Ordering::Greater) => None,
                    _ => Some(d),
                }
            }
            Shape::Box { width, height } => {
                let (width_m, height_m) = (width * self.to_meters, height * self.to_meters);
                // The latitude test is the cheaper one.
                if lat_distance(lat, clat) > height_m / 2.0 || distance(long, lat, clong, lat) > width_m / 2.0 {
                    return None;
                }
                Some(distance(clong, clat, long, lat))
            }
        }
    }

    /// The shape's bounding box: [min long, min lat, max long, max lat].
    fn bounds(&self) -> [f64; 4] {
        let [long, lat] = self.center;
        let (half_height, half_width) = match self.shape {
            Shape::Radius(r) => (r, r),
            Shape::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let (half_height, half_width) = (self.to_meters * half_height, self.to_meters * half_width);
        let lat_delta = rad_deg(half_height / EARTH_RADIUS_M);
        let long_delta_top = rad_deg(half_width / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
        let long_delta_bottom = rad_deg(half_width / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
        // The box is widest on the side nearer the equator.
        let long_delta = if lat < 0.0 { long_delta_bottom } else { long_delta_top };
        [long - long_delta, lat - lat_delta, long + long_delta, lat + lat_delta]
    }

    /// The distance in meters from the centre to the farthest point of the outline.
    fn reach(&self) -> f64 {
        let reach = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
        };
        reach * self.to_meters
    }

    /// The cells to scan, in Redis's order: the centre's, then north, south, east,
    /// west, north-east, north-west, south-east, south-west; zero cells are skipped.
    pub fn cells(&self) -> [Cell; 9] {
        let [min_long, min_lat, max_long, max_lat] = self.bounds();
        let [long, lat] = self.center;
        let mut step = estimate_step(self.reach(), lat);
        let mut cell = encode(GEO_RANGES, long, lat, step).unwrap_or(Cell { bits: 0, step });
        let mut n = neighbours(cell);
        let reaches_past = |n: &[Cell; 9]| {
            let area = |c: Cell| decode(GEO_RANGES, c);
            area(n[1]).lat.max < max_lat
                || area(n[2]).lat.min > min_lat
                || area(n[3]).long.max < max_long
                || area(n[4]).long.min > min_long
        };
        // Near a cell's edge the neighbours may not reach the shape's far side.
        if step > 1 && reaches_past(&n) {
            step -= 1;
            cell = encode(GEO_RANGES, long, lat, step).unwrap_or(Cell { bits: 0, step });
            n = neighbours(cell);
        }
        if step >= 2 {
            let area = decode(GEO_RANGES, cell);
            let mut drop = |sides: [usize; 3]| sides.iter().for_each(|&i| n[i] = Cell::default());
            if area.lat.min < min_lat {
                drop([2, 8, 7]);
            }
            if area.lat.max > max_lat {
                drop([1, 5, 6]);
            }
            if area.long.min < min_long {
                drop([4, 8, 6]);
            }
            if area.long.max > max_long {
                drop([3, 7, 5]);
            }
        }
        n
    }
}

/// The coarsest step whose cells (with their neighbours) cover `range_m` around a
/// point at latitude `lat`.
pub fn estimate_step(range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return STEP_MAX;
    }
    let (mut range, mut step) = (range_m, 1i32);
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    // Cells narrow toward the poles.
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, STEP_MAX as i32) as u8
}

/// Moves a cell by `d` (+1 or -1) along the coordinate whose bits are under `mask`
/// (odd bits: longitude; even bits: latitude), wrapping around.
fn shift(cell: Cell, mask: u64, d: i8) -> Cell {
    let along = cell.bits & mask;
    let other = cell.bits & !mask;
    let spacing = !mask >> (64 - 2 * cell.step as u32);
    let moved = if d > 0 { along.wrapping_add(spacing + 1) } else { (along | spacing).wrapping_sub(spacing + 1) };
    Cell { bits: (moved & (mask >> (64 - 2 * cell.step as u32))) | other, step: cell.step }
}

const LONG_BITS: u64 = 0xaaaa_aaaa_aaaa_aaaa;
const LAT_BITS: u64 = 0x5555_5555_5555_5555;

/// The cell and its 8 neighbours, in Redis's scan order.
fn neighbours(cell: Cell) -> [Cell; 9] {
    let at = |dx: i8, dy: i8| {
        let c = if dx != 0 { shift(cell, LONG_BITS, dx) } else { cell };
        if dy != 0 {
            shift(c, LAT_BITS, dy)
        } else {
            c
        }
    };
    [at(0, 0), at(0, 1), at(0, -1), at(1, 0), at(-1, 0), at(1, 1), at(-1, 1), at(1, -1), at(-1, -1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_redis() {
        // From the Redis test suite ("Check geoset values").
        assert_eq!(point_score(-73.9454966, 40.747533), Some(1791875804419201.0));
        assert_eq!(point_score(-73.7858139, 40.6428986), Some(1791895905559723.0));
        assert_eq!(point_score(200.0, 0.0), None);
        assert_eq!(point_score(0.0, 85.06), None);
    }

    #[test]
    fn decoding_and_geohash_strings() {
        let score = point_score(13.361389, 38.115556).unwrap();
        assert_eq!(score_point(score), [13.361389338970184, 38.1155563954963]);
        assert_eq!(&geohash_string(point_score(-5.6, 42.6).unwrap()), b"ezs42e44yx0");
        // Scores no GEOADD makes still decode as redis-server decodes them.
        assert_eq!(score_point(-1.0), [180.0, LAT_MAX]);
        assert_eq!(score_point(f64::INFINITY), score_point(0.0));
    }

    #[test]
    fn distances_and_steps() {
        let (p, c) = ([13.361389338970184, 38.1155563954963], [15.087267458438873, 37.50266842333162]);
        let d = distance(p[0], p[1], c[0], c[1]);
        assert!((166274.0..166275.0).contains(&d), "{d}");
        assert_eq!(distance(1.0, 2.0, 1.0, 2.0), 0.0);
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(f64::INFINITY, 0.0), 1);
        assert!(estimate_step(1000.0, 0.0) > estimate_step(1000.0, 85.0));
    }

    #[test]
    fn neighbours_wrap_around() {
        let cell = encode(GEO_RANGES, 179.9, 0.0, 4).unwrap();
        let east = decode(GEO_RANGES, neighbours(cell)[3]);
        assert_eq!(east.long.min, -180.0);
        let (lat, long) = deinterleave(interleave(0x1234_5678, 0x9abc_def0));
        assert_eq!((lat, long), (0x1234_5678, 0x9abc_def0));
    }
}
